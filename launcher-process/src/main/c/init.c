/*
 * The INIT mode: a tiny init that runs as the task's pid 1, as tini and
 * catatonit do. The kernel gives pid 1 of a pid namespace no default signal
 * actions, so a task that installs no handler (a plain `sleep`) ignores
 * SIGTERM; and orphans of the namespace are reparented to pid 1, which must
 * reap them or they stay zombies.
 *
 * The cloned process, fully set up (root, identity, capabilities, seccomp),
 * forks here: the child execs the task in a process group of its own, the
 * parent stays pid 1, forwards every signal it can catch to the task (tini's
 * default: to the task, not its group), reaps every child, and exits with
 * the task's status: its exit code, or 128 + the signal that ended it. Its
 * own exit then ends the namespace, so nothing of the task outlives it.
 */
#include "vessel-launch.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals the kernel raises for a fault of the process itself: delivered
 * to the init, never forwarded, so a fault in it is not hidden. */
static int synchronous(int sig)
{
    return sig == SIGFPE || sig == SIGILL || sig == SIGSEGV || sig == SIGBUS
        || sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS;
}

/* Reaps every child that has ended; returns the task's exit status for
 * init's own exit once the task is among them, else -1. */
static int reap(pid_t task)
{
    int st, code = -1;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
        if (p == task)
            code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
    return code;
}

int vl_init_fork(void)
{
    /* Every signal the init may wait for is blocked before the fork, so
     * none sent in between is lost: a blocked signal is queued even to a
     * pid 1 without a handler, while an unblocked one would be dropped. */
    sigset_t waited, none;
    sigfillset(&waited);
    for (int sig = 1; sig < NSIG; sig++)
        if (synchronous(sig))
            sigdelset(&waited, sig);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &waited, NULL);

    pid_t task = fork();
    if (task < 0)
        return -1;
    if (task == 0) {
        /* The task's own process group, as tini makes it: a terminal's
         * job control then reaches it and not the init. */
        setpgid(0, 0);
        /* With a terminal, that group is its foreground (as tini makes it):
         * the line discipline's signals (Ctrl-C) and SIGWINCH go to the task,
         * and it may read the terminal. SIGTTOU is still blocked here. */
        if (isatty(STDIN_FILENO))
            tcsetpgrp(STDIN_FILENO, getpgrp());
        sigprocmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        return 0;
    }

    /* Without a pid namespace of its own the init is not pid 1: orphans
     * then come to it as subreaper, as they would to a pid 1. */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    /* Only the task may say whether its exec succeeded: the error pipe
     * must close with it, not stay open in the init. */
    syscall(SYS_close_range, 3, ~0U, 0);
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&waited, &si);
        if (sig < 0)
            continue; /* EINTR: a stop and continue */
        if (sig == SIGCHLD) {
            int code = reap(task);
            if (code >= 0)
                _exit(code);
            continue;
        }
        /* A terminal's stops are for the task's group, never the init. */
        if (sig == SIGTTIN || sig == SIGTTOU)
            continue;
        (void)kill(task, sig); /* ESRCH: it ended; its SIGCHLD is due */
    }
}
