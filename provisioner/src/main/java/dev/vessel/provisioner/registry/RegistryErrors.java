package dev.vessel.provisioner.registry;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;

/** The registry client's user-facing errors, so each kind reads and is coded the same everywhere. */
final class RegistryErrors {
    private RegistryErrors() {
    }

    /** The registry refused our credentials (or we have none); retrying will not help until they change. */
    static VesselException unauthorized(String registry, String detail) {
        return new VesselException(ErrorCode.FAILED_PRECONDITION, "registry " + registry, "unauthorized: " + detail);
    }

    static VesselException unavailable(String registry, String detail, Throwable cause) {
        return new VesselException(ErrorCode.UNAVAILABLE, "registry " + registry, detail, cause);
    }
}
