package io.quiver;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A pointer to a value that lives on the cluster. Closing it (or letting it become unreachable)
 * lets the cluster drop the value once no pending task needs it.
 *
 * @param <T> the value's type
 */
public interface Ref<T> extends AutoCloseable {
    /**
     * The value's cluster-wide id.
     *
     * @return the id
     */
    RefId id();

    /**
     * Waits for the value, fetches it from an executor that holds it and returns it.
     *
     * @return the value
     * @throws TaskFailedException if the task that computes it threw
     * @throws DataLostException if every copy is gone and it cannot be recomputed
     * @throws ClusterUnavailableException if no leader was reachable for longer than the failover timeout
     */
    T result();

    /**
     * Like {@link #result()}, waiting at most {@code timeout}.
     *
     * @param timeout how long to wait
     * @return the value
     * @throws QuiverException caused by a {@link java.util.concurrent.TimeoutException} when the timeout passes
     */
    T result(Duration timeout);

    /**
     * Whether the value is finished, successfully or not.
     *
     * @return true once finished
     */
    boolean isDone();

    /**
     * The value as a future, completed as {@link #result()} would return or throw.
     *
     * @return a future of the value
     */
    CompletableFuture<T> toCompletableFuture();

    /**
     * The executors holding the value now (Dask's {@code who_has}); a lost executor is dropped once
     * the leader has declared it lost.
     *
     * @return executor ids
     */
    Set<String> locations();

    /**
     * The value's serialized size.
     *
     * @return bytes once known, -1 before
     */
    long sizeBytes();

    /**
     * Cancels the task behind this ref if it has not finished: a queued task never runs, a
     * running one is interrupted, and every task that depends on it is cancelled too. Its
     * {@link #result()} then throws a {@link QuiverException} caused by a
     * {@link java.util.concurrent.CancellationException}. Waits (bounded) to hear how it ended.
     *
     * @return true if it was cancelled; false if it had finished (or finished first), or is not a task
     */
    boolean cancel();

    /** Releases the value. Idempotent. */
    @Override
    void close();
}
