package io.quiver.executor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Epoch fencing (DESIGN.md, Wire protocol): remembers the newest leader epoch this executor has
 * seen (from {@code /leader}, from a Welcome, from an admitted command) and refuses commands
 * carrying an older one, so a deposed leader can no longer launch or drop anything here.
 * Thread-safe and free of I/O.
 */
final class EpochFence {
    private final AtomicLong newest;
    private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();

    EpochFence(long initial) {
        this.newest = new AtomicLong(initial);
    }

    EpochFence() {
        this(0);
    }

    /** The newest epoch seen so far. */
    long newest() {
        return newest.get();
    }

    /** Records an epoch seen anywhere; returns the newest epoch after it. */
    long observe(long epoch) {
        return newest.accumulateAndGet(epoch, Math::max);
    }

    /**
     * Whether a command carrying {@code epoch} may run: true unless a newer epoch has been seen.
     * An admitted command's epoch becomes the newest seen.
     */
    boolean admit(long epoch) {
        long seen = newest.get();
        while (epoch >= seen) {
            if (epoch == seen || newest.compareAndSet(seen, epoch)) {
                return true;
            }
            seen = newest.get();
        }
        refused.increment();
        return false;
    }

    /** How many commands {@link #admit} refused for their stale epoch. */
    long refused() {
        return refused.sum();
    }
}
