package dev.vessel.provisioner.registry;

/** A user name and password (or token) for one registry. Never printed. */
public record Credentials(String username, String password) {
    @Override
    public String toString() {
        return "Credentials[" + username + ", ****]";
    }
}
