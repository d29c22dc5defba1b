package dev.vessel.core.testing;

import java.util.ArrayList;
import java.util.List;

/** The calls test doubles received, in order, as "component:hook:container" strings. */
public final class CallLog {
    private final List<String> calls = new ArrayList<>();

    public synchronized void add(String call) {
        calls.add(call);
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    /** Calls whose text contains {@code fragment}, in order. */
    public synchronized List<String> matching(String fragment) {
        return calls.stream().filter(c -> c.contains(fragment)).toList();
    }

    public synchronized void clear() {
        calls.clear();
    }
}
