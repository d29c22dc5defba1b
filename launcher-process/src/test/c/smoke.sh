#!/usr/bin/env bash
# Smoke test of vessel-launch (run as root): builds the helper into a temp
# dir, makes a busybox rootfs, and drives the helper exactly the way Java
# does (plan on stdin, "pid" line, release byte 'G', outcome line), then
# checks logs / exit files. Prints PASS/FAIL per case; exit status = number
# of failures (capped at 100).
set -u
[ "$(id -u)" = 0 ] || { echo "smoke.sh must run as root" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "needs /bin/busybox (apt-get install busybox-static)" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$HERE/../../main/c
T=$(mktemp -d /tmp/vessel-smoke.XXXXXX)
# The mapped root of the user-namespace case must be able to traverse to the
# rootfs (it is not host root), so the temp dir cannot stay 0700.
chmod 755 "$T"
KEEP=${KEEP:-0}   # KEEP=1 leaves $T behind for inspection
cleanup() {
    [ -e "$T/netns" ] && umount "$T/netns" 2>/dev/null
    [ "$KEEP" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT

gcc -static -O2 -Wall -Wextra -Werror -o "$T/vessel-launch" "$SRC"/*.c || { echo "FAIL build"; exit 1; }
H=$T/vessel-launch

# --- busybox rootfs ------------------------------------------------------
# Relative "busybox" symlinks (not `busybox --install -s`, which would link
# to the host path of the binary, invalid after pivot_root).
R=$T/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,mnt}
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
echo "not a program" > "$R/etc/motd"; chmod 644 "$R/etc/motd"
ln -s /etc "$R/escape"   # absolute symlink: must resolve inside the rootfs
chmod 1777 "$R/tmp"

# --- plan encoder + Java-like driver -------------------------------------
# Usage: vplan.py MODE HELPER key=value...
#   MODE: release (normal), eof (close stdin before release), bad (send 'X'),
#         selfkill (release, then SIGKILL own process group = "JVM dies"),
#         badmagic (send a garbage header)
# Prints "helper <pid>", then every control line the helper writes.
cat > "$T/vplan.py" <<'PY'
import os, signal, struct, subprocess, sys
NS = dict(mount=1, uts=2, ipc=4, pid=8, net=0x10, cgroup=0x20, user=0x40)
STD = dict(proc=1, sys=2, dev=4, ro=8)
MS = dict(rdonly=1, nosuid=2, nodev=4, noexec=8, bind=4096, rec=16384,
          private=1 << 18, relatime=1 << 21)
HINT = dict(mkdir=1, mkfile=2)
STR = dict(exitfile=0x16, stdoutlog=0x17, stderrlog=0x18, monitorlog=0x19, rootfs=2, arg=3, env=4, cwd=5, hostname=9, uidmap=11,
           gidmap=12, netns=13, mask=16, readonly=0x1a, sysctl=0x2a)
U32 = dict(uid=6, gid=7, group=8)

def rec(tag, payload):
    return struct.pack('<HI', tag, len(payload)) + payload

def lstr(x):
    b = x.encode()
    return struct.pack('<I', len(b)) + b

def bits(table, v):
    return sum(table[x] for x in v.split(',') if x)

def encode(spec):
    body = b''
    for item in spec:
        k, _, v = item.partition('=')
        if k in STR:
            body += rec(STR[k], v.encode())
        elif k in U32:
            body += rec(U32[k], struct.pack('<I', int(v)))
        elif k == 'ns':
            body += rec(10, struct.pack('<I', bits(NS, v)))
        elif k == 'std':
            body += rec(15, struct.pack('<I', bits(STD, v)))
        elif k == 'mount':   # source|target|fstype|flags|data|hints
            src, tgt, fst, fl, data, hints = v.split('|')
            body += rec(14, struct.pack('<QI', bits(MS, fl), bits(HINT, hints))
                        + lstr(src) + lstr(tgt) + lstr(fst) + lstr(data))
        elif k == 'rlimit':  # resource:soft:hard
            r, so, ha = (int(x) for x in v.split(':'))
            body += rec(17, struct.pack('<IQQ', r, so, ha))
        elif k == 'nnp':
            body += rec(18, struct.pack('<I', int(v)))
        elif k == 'caps':    # bounding,effective,permitted,inheritable,ambient (hex)
            body += rec(19, struct.pack('<5Q', *(int(x, 16) for x in v.split(','))))
        elif k == 'logcap':
            body += rec(20, struct.pack('<Q', int(v)))
        elif k == 'idmap':
            body += rec(0x1c, struct.pack('<I', int(v)))
        elif k == 'lower':
            body += rec(0x1d, v.encode())
        elif k == 'upper':   # upper|work
            up, work = v.split('|')
            body += rec(0x1e, lstr(up) + lstr(work))
        elif k == 'join':    # name:path
            name, _, path = v.partition(':')
            body += rec(0x24, struct.pack('<I', NS[name]) + path.encode())
        elif k == 'attach':
            body += rec(0x20, v.encode())
        elif k == 'terminal':
            body += rec(0x21, struct.pack('<I', int(v)))
        elif k == 'openstdin':
            body += rec(0x22, struct.pack('<I', int(v)))
        elif k == 'winsize':  # rows:cols
            r, c = (int(x) for x in v.split(':'))
            body += rec(0x23, struct.pack('<I', r << 16 | c))
        elif k == 'init':
            body += rec(0x1f, struct.pack('<I', int(v)))
        elif k == 'unknown':
            body += rec(0x7777, b'')
        else:
            raise SystemExit('unknown spec key ' + k)
    return b'VSLP' + struct.pack('<HHI', 2, 0, len(body)) + body

mode, helper, spec = sys.argv[1], sys.argv[2], sys.argv[3:]
plan = b'XXXX' + bytes(8) if mode == 'badmagic' else encode(spec)
if mode == 'selfkill':
    os.setpgrp()   # our own group, like a JVM whose group gets killed
p = subprocess.Popen([helper], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print('helper', p.pid, flush=True)
p.stdin.write(plan)
p.stdin.flush()
for line in p.stdout:
    line = line.decode().rstrip('\n')
    print(line, flush=True)
    if line.startswith('pid '):
        if mode == 'eof':
            p.stdin.close()
        elif mode == 'bad':
            p.stdin.write(b'X'); p.stdin.flush()
        else:
            p.stdin.write(b'G'); p.stdin.flush()
            if mode == 'selfkill':
                os.killpg(0, signal.SIGKILL)
if mode in ('eof', 'bad', 'badmagic'):
    print('rc', p.wait(), flush=True)
PY

# --- an attach client --------------------------------------------------------
# Usage: vclient.py SOCKET action...   (stdio frames: u8 type, u32 BE length)
#   in:TEXT (STDIN; \n and \xNN escapes)  close (STDIN_CLOSE)  resize:ROWS:COLS
#   wait:TEXT (read until the output holds TEXT)  raw:HEX (any bytes)
#   touch:PATH (a file, once connected)  hold (never read again)
# Then reads to the end and prints "out <output>", "err <stderr>", "exit <status>".
cat > "$T/vclient.py" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
data, out, err, status = b'', b'', b'', None
def frame():
    global data
    while len(data) < 5 or len(data) < 5 + struct.unpack('>I', data[1:5])[0]:
        chunk = s.recv(65536)
        if not chunk:
            return None
        data += chunk
    n = struct.unpack('>I', data[1:5])[0]
    f = (data[0], data[5:5 + n])
    data = data[5 + n:]
    return f
def take(f):
    global out, err, status
    if f[0] == 0x11: out += f[1]
    elif f[0] == 0x12: err += f[1]
    elif f[0] == 0x13: status = struct.unpack('>i', f[1])[0]
def send(t, p=b''):
    s.sendall(struct.pack('>BI', t, len(p)) + p)
for a in sys.argv[2:]:
    k, _, v = a.partition(':')
    if k == 'in': send(1, v.encode().decode('unicode_escape').encode('latin-1'))
    elif k == 'close': send(2)
    elif k == 'resize': send(3, struct.pack('>HH', *(int(x) for x in v.split(':'))))
    elif k == 'raw': s.sendall(bytes.fromhex(v))
    elif k == 'touch': open(v, 'w').close()
    elif k == 'hold': time.sleep(3600)
    elif k == 'wait':
        while v.encode() not in out:
            f = frame()
            if f is None: break
            take(f)
while True:
    f = frame()
    if f is None: break
    take(f)
print('out', out.decode(errors='replace').replace('\r', ''))
print('err', err.decode(errors='replace'))
print('exit', status)
PY

# --- harness ---------------------------------------------------------------
PASS=0 FAIL=0
pass() { echo "PASS  $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL  $1: $2"; FAIL=$((FAIL + 1)); }
expect() { # name actual expected
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$3], got [$2]"; fi
}
expect_match() { # name actual glob
    case "$2" in $3) pass "$1" ;; *) fail "$1" "expected [$3], got [$2]" ;; esac
}
# launch NAME MODE spec... : the files go to $T/run/NAME, control output NAME.ctl
launch() {
    local name=$1 mode=$2 dir=$T/run/$1; shift 2
    rm -rf "$dir"; mkdir -p "$dir"
    python3 "$T/vplan.py" "$mode" "$H" "exitfile=$dir/exit" "stdoutlog=$dir/stdout.log" \
        "stderrlog=$dir/stderr.log" "monitorlog=$dir/monitor.log" "$@" \
        > "$T/run/$name.ctl" 2> "$T/run/$name.err"
}
outcome() { grep -v -e '^helper ' -e '^pid ' -e '^rc ' "$T/run/$1.ctl" | head -n1; }
ctlval()  { sed -n "s/^$2 //p" "$T/run/$1.ctl" | head -n1; }
exitof()  { # waits up to 10 s for the exit file
    local i
    for i in $(seq 100); do
        [ -f "$T/run/$1/exit" ] && { cat "$T/run/$1/exit"; return; }
        sleep 0.1
    done
    echo "no exit file"
}
out() { cat "$T/run/$1/stdout.log"; }
err() { cat "$T/run/$1/stderr.log"; }

BASE=("rootfs=$R" "ns=mount,pid,uts,ipc" "std=proc,sys,dev" "env=PATH=/bin")
BND=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
NOCHOWN=$(printf '%x' $((0x$BND & ~1)))

# --- cases -----------------------------------------------------------------
launch exit3 release "${BASE[@]}" arg=sh arg=-c "arg=exit 3"
expect "exit code: outcome" "$(outcome exit3)" "ok"
expect "exit code: exit file" "$(exitof exit3)" "exited 3"

# No pid ns here: as pid 1 of a pid ns, sh would be immune to its own SIGKILL.
launch sig9 release "rootfs=$R" ns=mount env=PATH=/bin arg=sh arg=-c 'arg=kill -9 $$'
expect "death by signal" "$(exitof sig9)" "signaled 9"

launch env release "${BASE[@]}" "env=FOO=bar baz" arg=sh arg=-c 'arg=echo "$FOO"'
exitof env >/dev/null
expect "env" "$(out env)" "bar baz"

launch cwd release "${BASE[@]}" cwd=/tmp arg=pwd
exitof cwd >/dev/null
expect "working dir" "$(out cwd)" "/tmp"

launch ids release "${BASE[@]}" uid=1000 gid=1001 group=10 group=20 arg=id
exitof ids >/dev/null
expect "uid/gid/groups" "$(out ids)" "uid=1000 gid=1001 groups=10,20"

launch fds release "${BASE[@]}" arg=ls arg=/proc/self/fd
exitof fds >/dev/null
expect "no fd leaks into the task (3 = ls's own dir fd)" "$(echo $(out fds))" "0 1 2 3"

launch hostfs release arg=/usr/bin/env
expect "no rootfs: host fs, empty env" "$(exitof hostfs) [$(out hostfs)]" "exited 0 []"

expect "--version" "$("$H" --version)" "vessel-launch protocol 2"

launch host release "${BASE[@]}" hostname=vessel-box arg=hostname
exitof host >/dev/null
expect "hostname" "$(out host)" "vessel-box"
expect "host hostname untouched" "$(hostname)" "$(cat /proc/sys/kernel/hostname)"

# SYSCTL: in the task's own net and IPC namespaces, values the host does not have
HOST_FWD=$(cat /proc/sys/net/ipv4/ip_forward) HOST_SHMMNI=$(cat /proc/sys/kernel/shmmni)
launch sysctl release "rootfs=$R" ns=mount,pid,uts,ipc,net std=proc,sys,dev env=PATH=/bin \
    "sysctl=net.ipv4.ip_forward=$((1 - HOST_FWD))" "sysctl=kernel.shmmni=$((HOST_SHMMNI - 1))" \
    arg=cat arg=/proc/sys/net/ipv4/ip_forward arg=/proc/sys/kernel/shmmni
expect "sysctl: set in the task's namespaces" "$(exitof sysctl) $(echo $(out sysctl))" \
    "exited 0 $((1 - HOST_FWD)) $((HOST_SHMMNI - 1))"
expect "sysctl: the host's untouched" "$(cat /proc/sys/net/ipv4/ip_forward) $(cat /proc/sys/kernel/shmmni)" \
    "$HOST_FWD $HOST_SHMMNI"
# in the helper's own network namespace it is refused (the value the host has: were it written, nothing changes)
launch sysctl_host release "rootfs=$R" ns=mount,pid,ipc std=proc,sys,dev env=PATH=/bin \
    "sysctl=kernel.shmmni=$HOST_SHMMNI" "sysctl=net.ipv4.ip_forward=$HOST_FWD" arg=true
expect "sysctl: refused in the host's network namespace" "$(outcome sysctl_host)" \
    "error sysctl net.ipv4.ip_forward: the task has no net namespace of its own: Operation not permitted"
launch sysctl_global release "${BASE[@]}" sysctl=kernel.pid_max=32768 arg=true
expect "sysctl: a parameter of no namespace refused" "$(outcome sysctl_global)" \
    "error plan: SYSCTL kernel.pid_max: not a parameter of a network or IPC namespace"
launch sysctl_climb release "${BASE[@]}" "sysctl=net.ipv4..x=1" arg=true
expect "sysctl: a key that is not dotted words refused" "$(outcome sysctl_climb)" \
    "error plan: SYSCTL key is not dotted words: net.ipv4..x"

launch pid1 release "${BASE[@]}" arg=sh arg=-c 'arg=echo $$'
exitof pid1 >/dev/null
expect "pid 1 in pid ns" "$(out pid1)" "1"
pid=$(ctlval pid1 pid)
expect_match "pid line is host pid" "$pid" "[0-9]*"

before=$(cat /proc/self/mountinfo)
launch mnt release "${BASE[@]}" "mount=tmpfs|/mnt/scratch|tmpfs|nosuid,nodev|size=1m|mkdir" \
    arg=sh arg=-c 'arg=grep -c " /mnt/scratch " /proc/self/mountinfo; sleep 1'
during=$(cat /proc/self/mountinfo)
expect "mount visible inside" "$(exitof mnt; out mnt)" "exited 0
1"
expect "host mountinfo unchanged" "$during" "$before"

launch rlim release "${BASE[@]}" rlimit=7:123:123 arg=sh arg=-c 'arg=ulimit -n'
exitof rlim >/dev/null
expect "rlimit nofile" "$(out rlim)" "123"

launch chown_ok release "${BASE[@]}" "caps=$BND,$BND,$BND,0,0" \
    arg=sh arg=-c 'arg=touch /tmp/f1 && chown 1:1 /tmp/f1'
expect "chown with CAP_CHOWN (control)" "$(exitof chown_ok)" "exited 0"
launch chown_no release "${BASE[@]}" "caps=$NOCHOWN,$NOCHOWN,$NOCHOWN,0,0" nnp=1 \
    arg=sh arg=-c 'arg=touch /tmp/f2 && chown 1:1 /tmp/f2'
expect "chown without CAP_CHOWN fails" "$(exitof chown_no)" "exited 1"
expect_match "chown error message" "$(err chown_no)" "*Operation not permitted*"

launch ambient release "${BASE[@]}" uid=1000 gid=1000 "caps=$BND,1,1,1,1" \
    arg=sh arg=-c 'arg=grep -E "^Cap(Eff|Amb)" /proc/self/status'
exitof ambient >/dev/null
expect "non-root + ambient CAP_CHOWN" "$(out ambient | tr -s '\t' ' ')" \
    "CapEff: 0000000000000001
CapAmb: 0000000000000001"

launch nouser_caps release "${BASE[@]}" uid=1000 gid=1000 arg=sh arg=-c 'arg=grep ^CapEff /proc/self/status'
exitof nouser_caps >/dev/null
expect "non-root without caps record has none" "$(out nouser_caps | tr -s '\t' ' ')" "CapEff: 0000000000000000"

launch nosuch release "${BASE[@]}" arg=/bin/nosuch
expect "missing executable" "$(outcome nosuch)" "error execve /bin/nosuch: No such file or directory"
expect "missing executable: exit file" "$(exitof nosuch)" "failed execve /bin/nosuch: No such file or directory"

launch nosuchpath release "${BASE[@]}" arg=nosuch
expect "missing executable (PATH lookup)" "$(outcome nosuchpath)" \
    "error execve nosuch (searched PATH=/bin): No such file or directory"

launch noexec release "${BASE[@]}" arg=/etc/motd
expect "non-executable file" "$(outcome noexec)" "error execve /etc/motd: Permission denied"

launch noroot release rootfs=/nonexistent ns=mount arg=/bin/true
expect "missing rootfs" "$(outcome noroot)" "error rootfs /nonexistent: No such file or directory"
expect "missing rootfs: no pid line" "$(ctlval noroot pid)" ""

launch plan_magic badmagic
expect "bad plan magic" "$(outcome plan_magic)" 'error plan: bad magic (expected "VSLP")'
launch plan_tag release "${BASE[@]}" arg=true unknown=1
expect "unknown tag" "$(outcome plan_tag)" "error plan: unknown tag 0x7777"
launch plan_host release "rootfs=$R" ns=mount hostname=x arg=true
expect "hostname without uts ns refused" "$(outcome plan_host)" "error plan: HOSTNAME requires the uts namespace"

launch abort eof "${BASE[@]}" arg=true
expect "abort on EOF before release" "$(outcome abort)" "error abort: stdin closed before release"
expect "abort: helper rc" "$(ctlval abort rc)" "1"
cpid=$(ctlval abort pid)
expect "abort: task killed" "$([ -n "$cpid" ] && [ ! -e /proc/$cpid ] && echo gone)" "gone"
launch abort2 bad "${BASE[@]}" arg=true
expect "abort on wrong release byte" "$(outcome abort2)" "error abort: unexpected byte 0x58 before release"

# "JVM dies": the driver SIGKILLs its whole process group right after release.
(launch survive selfkill "${BASE[@]}" arg=sh arg=-c 'arg=sleep 1; echo survived') 2>/dev/null
hpid=$(ctlval survive helper)
expect "monitor alive after starter killed" "$([ -e /proc/$hpid ] && echo alive)" "alive"
expect "monitor survives starter: exit file" "$(exitof survive)" "exited 0"
expect "monitor survives starter: log" "$(out survive)" "survived"

launch orphan release "${BASE[@]}" arg=sleep arg=30
hpid=$(ctlval orphan helper); tpid=$(ctlval orphan pid)
kill -9 "$hpid"
state=alive
for i in $(seq 20); do   # dead = gone or a zombie (the host init reaps lazily)
    grep -q '^State:.*Z' /proc/$tpid/status 2>/dev/null || [ ! -e /proc/$tpid ] && { state=dead; break; }
    sleep 0.1
done
expect "task dies with monitor (PDEATHSIG)" "$state" "dead"

launch logcap release "${BASE[@]}" logcap=1000 arg=sh arg=-c \
    'arg=i=0; while [ $i -lt 50 ]; do echo 0123456789012345678901234567890123456789012345678; i=$((i+1)); done'
exitof logcap >/dev/null
expect "log cap: sizes" "$(stat -c %s "$T/run/logcap/stdout.log.1" "$T/run/logcap/stdout.log" | tr '\n' ' ')" "1000 500 "

launch devfs release "${BASE[@]}" arg=sh arg=-c \
    'arg=echo $(ls /dev); echo x > /dev/null && echo null-ok; test -c /dev/pts/ptmx && echo pts-ok; grep -c " /dev/shm " /proc/self/mountinfo; grep " /sys " /proc/self/mountinfo | grep -c " ro,"'
exitof devfs >/dev/null
expect "/dev contents" "$(out devfs)" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero
null-ok
pts-ok
1
1"

launch rofs release "rootfs=$R" ns=mount,pid std=proc,sys,dev,ro env=PATH=/bin arg=sh arg=-c 'arg=touch /x'
exitof rofs >/dev/null
expect_match "read-only rootfs" "$(err rofs)" "*Read-only file system*"

launch masked release "${BASE[@]}" mask=/proc/keys mask=/sys/firmware mask=/nonexistent \
    arg=sh arg=-c 'arg=wc -c < /proc/keys; ls /sys/firmware | wc -l'
exitof masked >/dev/null
expect "masked file and dir" "$(out masked | tr -d ' ')" "0
0"

# "true >> f" opens f for writing and writes nothing (busybox's test -w says yes to
# root whatever the mount): the open alone must fail, and nothing reaches the host.
launch readonly release "${BASE[@]}" readonly=/proc/sys readonly=/proc/sysrq-trigger readonly=/nonexistent \
    arg=sh arg=-c 'arg=true >> /proc/sys/kernel/core_pattern && echo sys-writable; true >> /proc/sysrq-trigger && echo sysrq-writable; cat /proc/sys/kernel/ostype; grep " /proc/sys " /proc/self/mountinfo | grep -c " ro,nosuid,nodev,noexec"'
exitof readonly >/dev/null
expect "read-only paths" "$(out readonly)" "Linux
1"

name=vessel-smoke-$$
launch escape release "${BASE[@]}" "mount=tmpfs|/escape/$name|tmpfs|||mkdir" arg=true
expect "symlinked mount target stays in rootfs" \
    "$(exitof escape); host:$([ -e /etc/$name ] && echo LEAKED || echo clean); rootfs:$([ -d "$R/etc/$name" ] && echo created)" \
    "exited 0; host:clean; rootfs:created"

launch userns release "rootfs=$R" ns=mount,pid,uts,ipc,user "uidmap=0 100000 65536" \
    "gidmap=0 100000 65536" uid=0 gid=0 std=proc,sys,dev env=PATH=/bin \
    arg=sh arg=-c 'arg=id; ls /sys/kernel >/dev/null && echo sys-ok; sleep 1'
tpid=$(ctlval userns pid)
hostuid=$(awk '/^Uid:/ {print $2}' /proc/$tpid/status 2>/dev/null)
expect "user ns: outcome" "$(outcome userns)" "ok"
expect "user ns: host uid of task" "$hostuid" "100000"
exitof userns >/dev/null
expect "user ns: id inside, /sys via bind fallback" "$(out userns)" "uid=0 gid=0
sys-ok"

# Idmapped mounts: the rootfs and a volume lie under a 0700 directory of host
# root, which the namespace's root (host uid 100000) cannot traverse; the
# parent hands them over idmapped, so root inside owns them and writes them
# as host uid 0.
S=$T/private
mkdir -m 700 "$S"
mkdir -p "$S/vol" "$S/ovl/upper" "$S/ovl/work" "$S/plain"
cp -a "$R/." "$S/plain/"
USERNS=(ns=mount,pid,uts,ipc,net,user "uidmap=0 100000 65536" "gidmap=0 100000 65536"
        uid=0 gid=0 std=proc,sys,dev env=PATH=/bin idmap=1 "mount=$S/vol|/vol||bind||mkdir")
launch idmap_plain release "rootfs=$S/plain" "${USERNS[@]}" arg=sh arg=-c \
    'arg=cat /proc/self/uid_map | tr -s " "; stat -c "%u:%g" / /bin/busybox /vol; touch /made /vol/made; sleep 1'
tpid=$(ctlval idmap_plain pid)
hostuid=$(awk '/^Uid:/ {print $2}' /proc/$tpid/status 2>/dev/null)
expect "idmap: outcome" "$(outcome idmap_plain)" "ok"
expect "idmap: host uid of task" "$hostuid" "100000"
exitof idmap_plain >/dev/null
expect "idmap: root inside owns rootfs and volume" "$(out idmap_plain)" " 0 100000 65536
0:0
0:0
0:0"
expect "idmap: written as host uid 0" "$(stat -c %u:%g "$S/plain/made" "$S/vol/made" | tr '\n' ' ')" "0:0 0:0 "

launch idmap_sysctl release "rootfs=$S/plain" "${USERNS[@]}" "sysctl=net.ipv4.ip_forward=$((1 - HOST_FWD))" \
    "sysctl=kernel.shmmni=$((HOST_SHMMNI - 1))" arg=cat arg=/proc/sys/net/ipv4/ip_forward arg=/proc/sys/kernel/shmmni
expect "sysctl: set by a user namespace's root in its own namespaces" \
    "$(exitof idmap_sysctl) $(echo $(out idmap_sysctl))" "exited 0 $((1 - HOST_FWD)) $((HOST_SHMMNI - 1))"

launch idmap_ovl release "rootfs=$S/plain" "lower=$R" "upper=$S/ovl/upper|$S/ovl/work" "${USERNS[@]}" \
    arg=sh arg=-c 'arg=stat -c "%u:%g" / /bin/busybox; mkdir /made && rm /etc/motd && echo written'
exitof idmap_ovl >/dev/null
expect "idmap overlay: root inside owns the layers, writes" "$(out idmap_ovl)" "0:0
0:0
written"
expect "idmap overlay: upper written as host uid 0, lower untouched" \
    "$(stat -c %u:%g "$S/ovl/upper/made"; [ -f "$R/etc/motd" ] && echo lower-kept)" "0:0
lower-kept"
expect "idmap: nothing mounted on the host" "$(grep -c "$T" /proc/self/mountinfo)" "0"

launch idmap_nouser release "rootfs=$R" ns=mount idmap=1 arg=true
expect "idmap without user ns refused" "$(outcome idmap_nouser)" \
    "error plan: IDMAP requires the user namespace and ROOTFS"

if touch "$T/netns" && unshare --net="$T/netns" true; then
    launch netns release "${BASE[@]}" "netns=$T/netns" arg=readlink arg=/proc/self/ns/net
    exitof netns >/dev/null
    expect "join existing netns" "$(out netns)" "net:[$(stat -L -c %i "$T/netns")]"
else
    fail "join existing netns" "could not create a netns with unshare"
fi

# JOIN_NS: a second task enters a running one's namespaces (as an exec does).
launch target release "rootfs=$R" ns=mount,pid,uts,ipc,net hostname=target std=proc,sys,dev env=PATH=/bin \
    arg=sleep arg=30
tpid=$(ctlval target pid)
JOINS=()
for n in mount uts ipc net pid; do JOINS+=("join=$n:/proc/$tpid/ns/${n/mount/mnt}"); done
launch joined release "${JOINS[@]}" env=PATH=/bin arg=sh arg=-c \
    'arg=hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net; ps -o pid,args | grep -c "^ *1 sleep 30"; [ $$ -gt 1 ] && echo not-pid-1'
exitof joined >/dev/null
expect "join: the task's uts, ipc, net; its pids; not pid 1" "$(out joined)" "target
$(readlink /proc/$tpid/ns/ipc)
$(readlink /proc/$tpid/ns/net)
1
not-pid-1"
launch join_twice release "${BASE[@]}" "join=uts:/proc/$tpid/ns/uts" arg=true
expect "join: created and joined refused" "$(outcome join_twice)" \
    "error plan: the uts namespace is both created (NAMESPACES) and joined (JOIN_NS)"
launch join_missing release "join=ipc:$T/nonexistent" arg=true
expect "join: a missing file fails before pid" "$(outcome join_missing)" \
    "error join ipc $T/nonexistent: No such file or directory"
launch join_wrong release "join=ipc:/proc/$tpid/ns/uts" arg=true
expect "join: a file of another type" "$(outcome join_wrong)" \
    "error setns ipc /proc/$tpid/ns/uts: Invalid argument"
launch join_netns release "netns=$T/x" "join=net:/proc/$tpid/ns/net" arg=true
expect "join: NETNS_PATH and JOIN_NS net refused" "$(outcome join_netns)" \
    "error plan: NETNS_PATH and JOIN_NS net are exclusive"
kill -9 "$tpid"

launch utarget release "rootfs=$R" ns=mount,pid,uts,ipc,user "uidmap=0 100000 65536" "gidmap=0 100000 65536" \
    uid=0 gid=0 std=proc,sys,dev env=PATH=/bin arg=sleep arg=30
tpid=$(ctlval utarget pid)
launch ujoined release "join=user:/proc/$tpid/ns/user" "join=mount:/proc/$tpid/ns/mnt" \
    "join=pid:/proc/$tpid/ns/pid" uid=1 gid=1 env=PATH=/bin arg=sh arg=-c 'arg=id; sleep 1'
jpid=$(ctlval ujoined pid)
expect "join user ns: host uid of the joined task" "$(awk '/^Uid:/ {print $2}' /proc/$jpid/status 2>/dev/null)" "100001"
exitof ujoined >/dev/null
expect "join user ns: its ids inside" "$(out ujoined)" "uid=1 gid=1"
launch ujoin_ns release "join=user:/proc/$tpid/ns/user" ns=ipc arg=true
expect "join user ns with new namespaces refused" "$(outcome ujoin_ns)" \
    "error plan: JOIN_NS user cannot be combined with NAMESPACES"
kill -9 "$tpid"

# ATTACH_SOCKET, OPEN_STDIN: the task's stdio on a socket, in stdio frames.
# A task that prints waits for a line first: the client attaches after "ok".
A=$T/run/a.sock
VC="timeout 20 python3 $T/vclient.py"
launch cat release "${BASE[@]}" "attach=$A" openstdin=1 arg=cat
expect "attach: socket mode" "$(stat -c %a "$A")" "600"
expect "attach: cat round trip, STDIN_CLOSE ends it" \
    "$($VC "$A" 'in:hello\n' wait:hello 'in:world\n' close)" "out hello
world

err 
exit 0"
expect "attach: and the log" "$(exitof cat; out cat)" "exited 0
hello
world"
expect "attach: socket removed" "$([ -e "$A" ] && echo left || echo removed)" "removed"

launch two release "${BASE[@]}" "attach=$A" openstdin=1 arg=sh arg=-c 'arg=read x; echo got $x; echo oops >&2; exit 7'
$VC "$A" "touch:$T/run/first" > "$T/run/first.out" &
first=$!
while [ ! -e "$T/run/first" ]; do sleep 0.05; done
expect "attach: second client's stdin, EXIT's code" "$($VC "$A" 'in:abc\n')" "out got abc

err oops

exit 7"
wait $first
expect "attach: the first client sees the same" "$(cat "$T/run/first.out")" "out got abc

err oops

exit 7"

launch sigexit release "rootfs=$R" ns=mount env=PATH=/bin "attach=$A" openstdin=1 arg=sh arg=-c 'arg=read x; kill -9 $$'
expect "attach: EXIT of a signal is 128 + it" "$($VC "$A" 'in:\n' | tail -n1)" "exit 137"

launch nostdin release "${BASE[@]}" "attach=$A" arg=sh arg=-c 'arg=cat; echo eof'
expect "attach: without OPEN_STDIN stdin is /dev/null" "$(exitof nostdin; out nostdin)" "exited 0
eof"

launch garbage release "${BASE[@]}" "attach=$A" openstdin=1 arg=cat
$VC "$A" raw:7f00000000 >/dev/null
$VC "$A" raw:0100200000 >/dev/null
expect "attach: after garbage clients, another goes on" "$($VC "$A" 'in:ok\n' close | head -n1)" "out ok"
exitof garbage >/dev/null
expect "attach: garbage noted in the monitor log" "$(grep -c 'dropped a client: it sent a frame' "$T/run/garbage/monitor.log")" "2"

launch stuck release "${BASE[@]}" "attach=$A" openstdin=1 arg=sh arg=-c 'arg=read x; head -c 6000000 /dev/zero'
$VC "$A" 'in:\n' hold >/dev/null &
stuck=$!
expect "attach: a client that never reads does not hold the task" "$(exitof stuck; stat -c %s "$T/run/stuck/stdout.log")" "exited 0
6000000"
kill $stuck
expect "attach: the stuck client was dropped" "$(grep -c 'more than 4 MiB' "$T/run/stuck/monitor.log")" "1"

launch longsock release "${BASE[@]}" "attach=/$(printf 'x%.0s' $(seq 120))" arg=true
expect "attach: a socket path too long" "$(outcome longsock)" \
    "error plan: ATTACH_SOCKET longer than 107 bytes: /$(printf 'x%.0s' $(seq 120))"

# TERMINAL, WINSIZE: a pty of the container's devpts.
launch tty release "${BASE[@]}" "attach=$A" openstdin=1 terminal=1 winsize=24:80 uid=1000 gid=1000 \
    arg=sh arg=-c 'arg=read x; tty; stat -c %u:%g $(tty); stty size; read x; stty size; ls -1 /dev/pts'
expect "terminal: its tty, owner, WINSIZE, then RESIZE" \
    "$($VC "$A" 'in:\n' 'wait:24 80' resize:50:132 'in:\n' | grep -v '^$')" "out 
/dev/pts/0
1000:1000
24 80
50 132
0
ptmx
err 
exit 0"
expect "terminal: output logged to stdout" "$(exitof tty; grep -c '50 132' "$T/run/tty/stdout.log")" "exited 0
1"

launch ctrlc release "rootfs=$R" ns=mount,uts std=proc,sys,dev env=PATH=/bin "attach=$A" openstdin=1 \
    terminal=1 arg=sh arg=-c 'arg=read x; echo ready; sleep 100'
expect "terminal: Ctrl-C interrupts" "$($VC "$A" 'in:\n' wait:ready 'in:\x03' | tail -n1)" "exit 130"

launch ctrlc_init release "${BASE[@]}" "attach=$A" openstdin=1 terminal=1 init=1 \
    arg=sh arg=-c 'arg=read x; echo ready; sleep 100'
expect "terminal: Ctrl-C reaches the task behind the init" \
    "$($VC "$A" 'in:\n' wait:ready 'in:\x03' | tail -n1)" "exit 130"

launch tty_host release "attach=$A" terminal=1 arg=true
expect "terminal: never the host's devpts" "$(outcome tty_host)" \
    "error plan: TERMINAL requires ROOTFS with the /dev of STD_FS, or JOIN_NS mount"

launch target2 release "${BASE[@]}" "attach=$T/run/t.sock" openstdin=1 terminal=1 arg=sh arg=-c 'arg=read x'
tpid=$(ctlval target2 pid)
launch exectty release "join=mount:/proc/$tpid/ns/mnt" "join=pid:/proc/$tpid/ns/pid" "attach=$A" terminal=1 \
    openstdin=1 env=PATH=/bin arg=sh arg=-c 'arg=read x; tty; ls -1 /dev/pts'
expect "terminal: in a joined mount namespace, the container's devpts" \
    "$($VC "$A" 'in:\n' | grep -v '^$')" "out 
/dev/pts/1
0
1
ptmx
err 
exit 0"
$VC "$T/run/t.sock" 'in:\n' >/dev/null

echo "----"
echo "passed $PASS, failed $FAIL"
[ "$FAIL" -gt 100 ] && FAIL=100
exit "$FAIL"
