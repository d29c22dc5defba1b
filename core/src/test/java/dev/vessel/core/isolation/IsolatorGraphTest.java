package dev.vessel.core.isolation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.testing.CallLog;
import dev.vessel.core.testing.RecordingIsolator;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IsolatorGraphTest {
    static final Key<Path> ROOTFS = Key.of("rootfs", Path.class);
    static final Key<String> NETNS = Key.of("netns", String.class);
    static final Key<String> CGROUP = Key.of("cgroup", String.class);
    static final Key<Integer> GPU = Key.of("gpu", Integer.class);

    final CallLog log = new CallLog();

    RecordingIsolator isolator(String name) {
        return new RecordingIsolator(name, log);
    }

    static IsolatorGraph build(Isolator... isolators) {
        return IsolatorGraph.build(List.of(isolators), Set.of(ROOTFS), "containerizer");
    }

    static List<String> names(IsolatorGraph graph) {
        return graph.order().stream().map(Isolator::name).toList();
    }

    @Test
    void providersComeBeforeTheirConsumersAndOtherwiseRegistrationOrderIsKept() {
        RecordingIsolator tap = isolator("tap").requires(NETNS, CGROUP);
        RecordingIsolator cni = isolator("cni").provides(NETNS);
        RecordingIsolator mem = isolator("mem").provides(CGROUP);
        RecordingIsolator fs = isolator("fs").requires(ROOTFS);
        assertEquals(List.of("cni", "mem", "tap", "fs"), names(build(tap, cni, mem, fs)));
    }

    @Test
    void aCycleIsRefusedNamingItsIsolators() {
        RecordingIsolator a = isolator("a").provides(NETNS).requires(GPU);
        RecordingIsolator b = isolator("b").provides(CGROUP).requires(NETNS);
        RecordingIsolator c = isolator("c").provides(GPU).requires(CGROUP);
        RecordingIsolator free = isolator("free");
        VesselException e = assertThrows(VesselException.class, () -> build(free, a, b, c));
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains("cycle"), e.getMessage());
        for (String name : List.of("a", "b", "c")) {
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        assertTrue(!e.getMessage().contains("free"), e.getMessage());
    }

    @Test
    void anIsolatorRequiringWhatItProvidesIsACycle() {
        VesselException e = assertThrows(VesselException.class,
                () -> build(isolator("selfish").provides(NETNS).requires(NETNS)));
        assertTrue(e.getMessage().contains("cycle: selfish -> selfish"), e.getMessage());
    }

    @Test
    void aKeyNobodyProvidesIsRefused() {
        VesselException e = assertThrows(VesselException.class, () -> build(isolator("tap").requires(NETNS)));
        assertTrue(e.getMessage().contains("isolator 'tap' requires key netns(String) that no isolator provides"),
                e.getMessage());
    }

    @Test
    void twoProvidersOfOneKeyAreRefused() {
        VesselException e = assertThrows(VesselException.class,
                () -> build(isolator("cni").provides(NETNS), isolator("host-net").provides(NETNS)));
        assertTrue(e.getMessage().contains("key netns(String) is provided by both 'cni' and 'host-net'"),
                e.getMessage());
    }

    @Test
    void anIsolatorMayNotProvideAKeyOfTheContainerizer() {
        VesselException e = assertThrows(VesselException.class, () -> build(isolator("fs").provides(ROOTFS)));
        assertTrue(e.getMessage().contains("provided by both 'containerizer' and 'fs'"), e.getMessage());
    }

    @Test
    void twoIsolatorsWithOneNameAreRefused() {
        VesselException e = assertThrows(VesselException.class, () -> build(isolator("mem"), isolator("mem")));
        assertTrue(e.getMessage().contains("two isolators are named 'mem'"), e.getMessage());
    }

    @Test
    void containerizerKeysNeedNoProvider() {
        assertEquals(List.of("fs"), names(build(isolator("fs").requires(ROOTFS))));
    }
}
