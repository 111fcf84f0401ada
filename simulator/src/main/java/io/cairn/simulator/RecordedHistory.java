package io.cairn.simulator;

import java.util.ArrayList;
import java.util.List;

/**
 * The linearizability checker for histories recorded outside the simulator — clients of real processes, from any
 * number of threads. Each key is a register of longs (0: absent); each operation is invoked, then completes with a
 * result, fails (known not to have taken effect), or stays unknown (a write that may or may not have taken effect
 * at any time after its invocation: a timeout, a dropped connection). One logical clock ticks at every invocation
 * and completion under one lock, so the recorded real-time order is exact.
 */
public final class RecordedHistory {
    private final History history = new History();
    private final List<History.Op> handles = new ArrayList<>();

    /**
     * @param client the client's number.
     * @param key    the register.
     * @param value  the value written (not 0).
     * @return a handle for the completion.
     */
    public synchronized int invokePut(final int client, final int key, final long value) {
        handles.add(history.invoke(client, History.PUT, key, value, 0));
        return handles.size() - 1;
    }

    /**
     * @param client the client's number.
     * @param key    the register.
     * @return a handle for the completion.
     */
    public synchronized int invokeGet(final int client, final int key) {
        handles.add(history.invoke(client, History.GET, key, 0, 0));
        return handles.size() - 1;
    }

    /**
     * @param handle from an invoke.
     * @param output what a get read (0: absent); ignored for a put.
     */
    public synchronized void ok(final int handle, final long output) {
        history.ok(handles.get(handle), output);
    }

    /**
     * @param handle from an invoke: known not to have taken effect.
     */
    public synchronized void failed(final int handle) {
        history.fail(handles.get(handle));
    }

    /**
     * @param handle from an invoke: it may have taken effect, or may yet.
     */
    public synchronized void unknown(final int handle) {
        history.abandon(handles.get(handle));
    }

    /**
     * @return operations recorded.
     */
    public synchronized int size() {
        return handles.size();
    }

    /**
     * @return null when every key's history is linearizable; otherwise what is wrong (with the key's operations),
     *     or that the search ran out of budget.
     */
    public synchronized String check() {
        final LinearizabilityChecker.Result result = LinearizabilityChecker.check(history.ops());
        if (!result.linearizable()) {
            return "key " + result.key() + " is not linearizable:\n" + result.explanation();
        }
        return result.inconclusive() ? "key " + result.key() + ": " + result.explanation() : null;
    }
}
