package io.quiver.core.client;

import io.quiver.RefId;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Thread-safe: user threads mint and read refs, the session loop completes them. Every ref this
 * client made and has not released, by id. Ids are minted here: the owner is the session of the
 * first leader connection (unique in the cluster, and kept across leader changes so a new leader
 * sees the same ids), the sequence counts up.
 */
final class RefTable {
    private final Map<RefId, RefState> refs = new ConcurrentHashMap<>();
    private final Set<RefId> broadcasts = ConcurrentHashMap.newKeySet();
    private final AtomicLong seq = new AtomicLong();
    private volatile long owner = -1;

    /** Set once, by the first leader session, before any ref is minted. */
    void owner(long session) {
        if (owner < 0) {
            owner = session;
        }
    }

    /** The owner of every ref this client mints (its first session); -1 before the first session. */
    long owner() {
        return owner;
    }

    RefId nextId() {
        if (owner < 0) {
            throw new IllegalStateException("no leader session yet: refs are minted only after connect");
        }
        return new RefId(owner, seq.incrementAndGet());
    }

    RefState mint() {
        RefState s = new RefState(nextId());
        refs.put(s.id, s);
        return s;
    }

    /** The state of a ref the leader named (a job's output), made once. */
    RefState adopt(RefId id) {
        return refs.computeIfAbsent(id, RefState::new);
    }

    RefState get(RefId id) {
        return refs.get(id);
    }

    void remove(RefId id) {
        refs.remove(id);
        broadcasts.remove(id);
    }

    void markBroadcast(RefId id) {
        broadcasts.add(id);
    }

    boolean isBroadcast(RefId id) {
        return broadcasts.contains(id);
    }

    /** Fails every ref that is not done yet. */
    void failUnfinished(RuntimeException e) {
        for (RefState s : refs.values()) {
            if (!s.done.isDone()) {
                s.fail(e);
            }
        }
    }

    /** Fails every ref that is not done and forgets them all (the client closed). */
    void clear(RuntimeException e) {
        failUnfinished(e);
        refs.clear();
        broadcasts.clear();
    }
}
