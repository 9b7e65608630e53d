package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Exec;
import io.quiver.core.protocol.Message.Failure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What executors reported that this leader has not been told about yet: blocks in their stores,
 * tasks they are running, failures they remember. After a leader change these come before (or
 * after) the clients that own them resume; a resumed task or held ref adopts its entry, so nothing
 * that exists is computed again. Entries nobody adopts within the orphan time are dropped.
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class Unclaimed {
    /** A copy an executor holds; {@code bucketRows} is a map output's row summary, or null. */
    record Copy(Exec holder, long size, int[] bucketRows) {}

    private record Entry<T>(T value, long sinceNanos) {}

    private final Map<RefId, Entry<List<Copy>>> blocks = new HashMap<>();
    private final Map<RefId, Entry<Exec>> active = new HashMap<>();
    private final Map<RefId, Entry<Failure>> failures = new HashMap<>();

    void block(RefId ref, Exec holder, long size, int[] bucketRows, long now) {
        Entry<List<Copy>> e = blocks.computeIfAbsent(ref, r -> new Entry<>(new ArrayList<>(1), now));
        e.value().removeIf(c -> c.holder() == holder);
        e.value().add(new Copy(holder, size, bucketRows));
    }

    void active(RefId task, Exec on, long now) {
        active.put(task, new Entry<>(on, now));
    }

    /**
     * The task reported by {@code on} as running ended there (done, failed, or stopped for a
     * missing input): it must not be adopted as running there any more.
     */
    void ended(RefId task, Exec on) {
        Entry<Exec> e = active.get(task);
        if (e != null && e.value() == on) {
            active.remove(task);
        }
    }

    void failure(RefId task, Failure f, long now) {
        failures.put(task, new Entry<>(f, now));
    }

    boolean hasBlock(RefId ref) {
        return blocks.containsKey(ref);
    }

    /** Takes the copies of {@code ref} (held by executors that are still alive), or null. */
    List<Copy> takeBlock(RefId ref) {
        Entry<List<Copy>> e = blocks.remove(ref);
        if (e == null) {
            return null;
        }
        e.value().removeIf(c -> !c.holder().alive);
        return e.value().isEmpty() ? null : e.value();
    }

    Exec takeActive(RefId task) {
        Entry<Exec> e = active.remove(task);
        return e == null || !e.value().alive ? null : e.value();
    }

    Failure takeFailure(RefId task) {
        Entry<Failure> e = failures.remove(task);
        return e == null ? null : e.value();
    }

    /** Forgets what a lost executor reported. */
    void lost(Exec e) {
        for (Iterator<Entry<List<Copy>>> it = blocks.values().iterator(); it.hasNext(); ) {
            List<Copy> copies = it.next().value();
            copies.removeIf(c -> c.holder() == e);
            if (copies.isEmpty()) {
                it.remove();
            }
        }
        active.values().removeIf(x -> x.value() == e);
    }

    /**
     * Removes what has waited longer than {@code maxAgeNanos}; returns the blocks to drop, by
     * holder, so their executors can free the memory.
     */
    Map<Exec, List<RefId>> expire(long now, long maxAgeNanos) {
        Map<Exec, List<RefId>> drops = new HashMap<>();
        for (Iterator<Map.Entry<RefId, Entry<List<Copy>>>> it = blocks.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<RefId, Entry<List<Copy>>> e = it.next();
            if (now - e.getValue().sinceNanos() >= maxAgeNanos) {
                for (Copy c : e.getValue().value()) {
                    drops.computeIfAbsent(c.holder(), x -> new ArrayList<>()).add(e.getKey());
                }
                it.remove();
            }
        }
        active.values().removeIf(x -> now - x.sinceNanos() >= maxAgeNanos);
        failures.values().removeIf(x -> now - x.sinceNanos() >= maxAgeNanos);
        return drops;
    }

    boolean isEmpty() {
        return blocks.isEmpty() && active.isEmpty() && failures.isEmpty();
    }
}
