package dev.vessel.guest;

/** The guest agent's entry point (being built: see the VM issue). */
public final class GuestAgent {
    private GuestAgent() {
    }

    public static void main(String[] args) {
        System.out.println("vessel guest agent: not implemented yet");
    }
}
