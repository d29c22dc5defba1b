package dev.vessel.core.error;

/** What kind of failure a {@link VesselException} reports; the API maps each code to a status. */
public enum ErrorCode {
    /** The request is wrong: a field has a bad value. Retrying it unchanged fails again. */
    INVALID_ARGUMENT,
    /** The container, image or object named does not exist. */
    NOT_FOUND,
    /** An object with that name or id exists already. */
    ALREADY_EXISTS,
    /** The object is not in a state that allows the operation (e.g. removing a running container). */
    FAILED_PRECONDITION,
    /** A component the operation needs is missing or not configured on this node. */
    UNAVAILABLE,
    /** Stored state cannot be read: corrupt, or written by a newer Vessel. */
    DATA_LOSS,
    /** Something failed while carrying out a valid request (a syscall, a child process, libvirt). */
    INTERNAL
}
