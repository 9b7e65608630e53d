package io.quiver.core.client.dataset;

import io.quiver.Ref;
import java.util.List;

/**
 * The persistence state of one {@code persist()}ed dataset, shared by every dataset built on it.
 * PENDING until a job computes it, MATERIALIZED (holding its partition refs) after, UNPERSISTED
 * once released. Thread-safe.
 */
final class PersistHandle {
    enum State {
        PENDING,
        MATERIALIZED,
        UNPERSISTED
    }

    private State state = State.PENDING;
    private List<Ref<?>> refs;

    synchronized State state() {
        return state;
    }

    /** The partition refs while MATERIALIZED, else null. */
    synchronized List<Ref<?>> refs() {
        return refs;
    }

    /** Records the partitions a job computed; refs that arrive too late (already materialized or unpersisted) are closed. */
    void materialize(List<Ref<?>> computed) {
        synchronized (this) {
            if (state == State.PENDING) {
                refs = List.copyOf(computed);
                state = State.MATERIALIZED;
                return;
            }
        }
        computed.forEach(Ref::close);
    }

    /** Forgets refs that are no longer usable (released by the cluster); the next job recomputes. */
    void reset(List<Ref<?>> stale) {
        synchronized (this) {
            if (refs != stale) {
                return;
            }
            refs = null;
            state = State.PENDING;
        }
        stale.forEach(Ref::close);
    }

    void unpersist() {
        List<Ref<?>> toClose;
        synchronized (this) {
            toClose = refs;
            refs = null;
            state = State.UNPERSISTED;
        }
        if (toClose != null) {
            toClose.forEach(Ref::close);
        }
    }
}
