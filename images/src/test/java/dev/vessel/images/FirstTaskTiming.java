package dev.vessel.images;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.LaunchTask;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Resources;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where a cold VM task's time goes, under raw QEMU: boots initramfs variants in alternating rounds,
 * launches {@code /bin/true} from a virtio-9p share of a busybox rootfs as the first task and prints
 * each step's median per variant. A measuring tool, not a test (no timing is asserted anywhere):
 * run it with the module's test class path, e.g.
 * {@code java -cp target/test-classes:$(cat cp.txt) dev.vessel.images.FirstTaskTiming 5 a.cpio b.cpio,max}
 * (a variant is an initramfs, optionally with QEMU's {@code -cpu} after a comma).
 * System properties: {@code smp} (vCPUs, default 1), {@code mem} (MiB, default 512), {@code cpu} (QEMU's
 * {@code -cpu}, default qemu64, what QEMU picks when none is given), {@code consoles}
 * (a directory that keeps each boot's console).
 */
public final class FirstTaskTiming {
    private static final Pattern INIT_UP = Pattern.compile("vessel-init: up at ([0-9.]+) s");
    private static final Pattern JVM_EXEC = Pattern.compile("vessel-init: starting the guest agent at ([0-9.]+) s");
    private static final List<String> STEPS = List.of("init marker (guest s)", "JVM exec (guest s)",
            "exec->main", "main->hello", "hello->started", "started->exited", "qemu start->exited (host)");

    private FirstTaskTiming() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: FirstTaskTiming ROUNDS INITRD[,CPU]...");
            System.exit(2);
        }
        int rounds = Integer.parseInt(args[0]);
        List<String> variants = Stream.of(args).skip(1).toList();
        int smp = Integer.getInteger("smp", 1);
        int mem = Integer.getInteger("mem", 512);
        GuestArtifacts artifacts = GuestArtifacts.load();
        Path dir = Files.createTempDirectory("first-task-timing");
        try {
            Path rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
            Map<String, Map<String, List<Double>>> results = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                for (String variant : variants) {
                    String[] initrdAndCpu = variant.split(",", 2);
                    String cpu = initrdAndCpu.length > 1 ? initrdAndCpu[1] : System.getProperty("cpu", "qemu64");
                    Map<String, Double> one = bootOnce(artifacts, Path.of(initrdAndCpu[0]), cpu, rootfs, dir, smp, mem);
                    System.out.println("round " + round + " " + variant + " " + one);
                    one.forEach((k, v) -> results.computeIfAbsent(variant, i -> new LinkedHashMap<>())
                            .computeIfAbsent(k, x -> new ArrayList<>()).add(v));
                }
            }
            System.out.printf("%-28s", "median (s), smp=" + smp);
            variants.forEach(v -> System.out.printf(" %22s", Path.of(v).getFileName()));
            System.out.println();
            for (String step : STEPS) {
                System.out.printf("%-28s", step);
                for (String v : variants) {
                    System.out.printf(" %22.3f", median(results.get(v).get(step)));
                }
                System.out.println();
            }
        } finally {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static Map<String, Double> bootOnce(GuestArtifacts artifacts, Path initrd, String cpu, Path rootfs, Path dir,
            int smp, int mem) throws Exception {
        Path run = Files.createDirectories(dir.resolve("run"));
        Files.deleteIfExists(run.resolve("console.log"));
        List<String> extra = List.of("-smp", Integer.toString(smp), "-cpu", cpu,
                "-fsdev", "local,id=r,path=" + rootfs + ",security_model=passthrough",
                "-device", "virtio-9p-pci,fsdev=r,mount_tag=vessel-rootfs");
        long t0 = System.nanoTime();
        try (QemuGuest guest = QemuGuest.boot(artifacts, initrd, "", run, mem, extra);
                SocketChannel port = guest.connectAgentPort()) {
            InputStream in = Channels.newInputStream(port);
            OutputStream out = Channels.newOutputStream(port);
            GuestFrame hello = GuestFrame.parseDelimitedFrom(in);
            long tHello = System.nanoTime();
            if (hello == null || !hello.hasHello()) {
                throw new IllegalStateException("no hello: " + hello + "\n" + guest.console());
            }
            HostFrame.newBuilder().setHelloAck(HelloAck.getDefaultInstance()).build().writeDelimitedTo(out);
            HostFrame.newBuilder().setRequestId(1).setLaunch(LaunchTask.newBuilder().setContainerId("first")
                    .setRootfsTag("vessel-rootfs").setConfig(ContainerConfig.newBuilder().addCommand("/bin/true")
                            .setResources(Resources.newBuilder().setMemoryBytes(64L << 20).setCpus(1).setPids(64))))
                    .build().writeDelimitedTo(out);
            long tStarted = 0;
            long tExited = 0;
            while (tExited == 0) {
                GuestFrame frame = GuestFrame.parseDelimitedFrom(in);
                if (frame == null || frame.hasError()) {
                    throw new IllegalStateException("the launch failed: " + frame + "\n" + guest.console());
                }
                if (frame.hasStarted()) {
                    tStarted = System.nanoTime();
                } else if (frame.hasExited()) {
                    tExited = System.nanoTime();
                }
            }
            String text = guest.console();
            if (System.getProperty("consoles") != null) {
                Files.writeString(Path.of(System.getProperty("consoles"), initrd.getFileName() + "-" + System.nanoTime()
                        + ".log"), text);
            }
            Map<String, Double> steps = new LinkedHashMap<>();
            double exec = seconds(JVM_EXEC, text);
            steps.put(STEPS.get(0), seconds(INIT_UP, text));
            steps.put(STEPS.get(1), exec);
            steps.put(STEPS.get(2), hello.getHello().getAgentStartMillis() / 1000.0 - exec);
            steps.put(STEPS.get(3), (hello.getHello().getReadyMillis() - hello.getHello().getAgentStartMillis()) / 1000.0);
            steps.put(STEPS.get(4), (tStarted - tHello) / 1e9);
            steps.put(STEPS.get(5), (tExited - tStarted) / 1e9);
            steps.put(STEPS.get(6), (tExited - t0) / 1e9);
            return steps;
        }
    }

    private static double seconds(Pattern pattern, String console) {
        Matcher m = pattern.matcher(console);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
