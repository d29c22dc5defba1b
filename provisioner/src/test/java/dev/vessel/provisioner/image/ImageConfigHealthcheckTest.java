package dev.vessel.provisioner.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vessel.core.model.HealthCheck;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A Docker image's Healthcheck (nanoseconds there) becomes its containers' default health check. */
class ImageConfigHealthcheckTest {
    private static final String DIFF_ID = "sha256:" + "ab".repeat(32);

    private static ImageConfig parse(String config) {
        return ImageConfig.parse(("{\"os\": \"linux\", \"architecture\": \"amd64\", \"config\": " + config
                + ", \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" + DIFF_ID + "\"]}}")
                .getBytes(StandardCharsets.UTF_8), "test config");
    }

    @Test
    void theImagesCheckIsReadInMillisecondsAndTooShortADurationIsASecond() {
        HealthCheck check = parse("{\"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"curl -f http://localhost/\"],"
                + " \"Interval\": 30000000000, \"Timeout\": 5000000, \"StartPeriod\": 2000000000, \"Retries\": 4}}")
                .defaults().getHealthCheck();
        assertEquals(List.of("CMD-SHELL", "curl -f http://localhost/"), check.getTestList());
        assertEquals(30_000, check.getIntervalMs());
        assertEquals(1000, check.getTimeoutMs(), "5 ms from an image is taken as the node's least");
        assertEquals(2000, check.getStartPeriodMs());
        assertEquals(4, check.getRetries());
    }

    @Test
    void noHealthcheckOrAnEmptyTestIsNoCheck() {
        assertFalse(parse("{\"Cmd\": [\"sh\"]}").defaults().hasHealthCheck());
        assertFalse(parse("{\"Healthcheck\": {\"Test\": []}}").defaults().hasHealthCheck());
    }
}
