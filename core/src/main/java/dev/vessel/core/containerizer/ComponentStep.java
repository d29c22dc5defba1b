package dev.vessel.core.containerizer;

import dev.vessel.core.error.Failures;

/** One step a component (launcher, provisioner, fetcher) takes for the containerizer. */
@FunctionalInterface
interface ComponentStep<T> {
    T run() throws Exception;

    /** Runs {@code step}, naming the component and the step in any failure. */
    static <T> T run(String component, String what, ComponentStep<T> step) {
        try {
            return step.run();
        } catch (Exception e) {
            throw Failures.of(component, what, e);
        }
    }
}
