package dev.vessel.node.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Numbers in a request body are taken only as plain digits of bounded length, checked before any conversion. */
class ProtoJsonNumbersTest {
    @Test
    void integersAreTakenAsJsonIntegersOrStringsOfDigits() {
        assertEquals(67108864, parse("{\"resources\":{\"memory_bytes\":67108864}}").getResources().getMemoryBytes());
        assertEquals(67108864, parse("{\"resources\":{\"memory_bytes\":\"67108864\"}}").getResources().getMemoryBytes());
        assertEquals(-1L, parse("{\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":\"18446744073709551615\"}]}")
                .getRlimits(0).getSoft(), "uint64's largest value has 20 digits and is taken");
    }

    @Test
    void anExponentAFractionOrALongNumberIsRefusedNamingTheField() {
        for (String value : new String[] {"\"1e6400000\"", "1e6400000", "\"1e3\"", "1.0", "\"1.5\"",
                "\"123456789012345678901\"", "123456789012345678901234567890", "\" 5\"", "\"0x10\""}) {
            VesselException e = refused("{\"resources\":{\"memory_bytes\":" + value + "}}");
            assertEquals("resources.memory_bytes", e.field().orElseThrow(), value);
            assertTrue(e.getMessage().contains("at most 20 characters, no fraction or exponent"), e.getMessage());
        }
    }

    @Test
    void aNumberTooLongToTokeniseIsRefusedAsTheBody() {
        VesselException e = refused("{\"resources\":{\"memory_bytes\":" + "9".repeat(200_000) + "}}");
        assertEquals("body", e.field().orElseThrow());
        assertTrue(e.getMessage().length() < 1024, "the message is bounded, not the number echoed");
    }

    @Test
    void cpusTakeABoundedPlainDecimal() {
        assertEquals(1.5, parse("{\"resources\":{\"cpus\":1.5}}").getResources().getCpus());
        assertEquals(10.0, parse("{\"resources\":{\"cpus\":10.0}}").getResources().getCpus());
        assertEquals(2.0, parse("{\"resources\":{\"cpus\":2}}").getResources().getCpus());
        assertEquals(0.25, parse("{\"resources\":{\"cpus\":\"0.25\"}}").getResources().getCpus());
        for (String value : new String[] {"1e400", "\"1e400\"", "1.5e2", "\"NaN\"", "\"Infinity\"",
                "0." + "1".repeat(30)}) {
            VesselException e = refused("{\"resources\":{\"cpus\":" + value + "}}");
            assertEquals("resources.cpus", e.field().orElseThrow(), value);
            assertTrue(e.getMessage().contains("plain decimal"), e.getMessage());
        }
    }

    @Test
    void aHugeStringOrKeyIsQuotedCutShort() {
        String huge = "x".repeat(1 << 20);
        VesselException wrongType = refused("{\"resources\":{\"memory_bytes\":{\"a\":1}}, \"hostname\":[\"" + huge + "\"]}");
        assertTrue(wrongType.getMessage().length() < 1024, "message of " + wrongType.getMessage().length() + " chars");
        VesselException unknown = refused("{\"" + huge + "\":1}");
        assertTrue(unknown.field().orElseThrow().length() < 100, "the field names a cut key");
        VesselException enumValue = refused("{\"isolation\":\"" + huge + "\"}");
        assertEquals("isolation", enumValue.field().orElseThrow());
        assertTrue(enumValue.getMessage().length() < 1024, "message of " + enumValue.getMessage().length() + " chars");
    }

    @Test
    void deepNestingStopsTheParse() {
        VesselException e = refused("{\"resources\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}");
        assertEquals("body", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
    }

    private static ContainerConfig parse(String json) {
        return ContainerRequests.parse(("{\"host_rootfs\":\"/r\"," + json.substring(1)).getBytes(StandardCharsets.UTF_8));
    }

    private static VesselException refused(String json) {
        return assertThrows(VesselException.class, () -> parse(json));
    }
}
