package io.quiver;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A pointer to a value that lives on the cluster. Closing it (or letting it become unreachable)
 * lets the cluster drop the value once no pending task needs it.
 */
public interface Ref<T> extends AutoCloseable {
    RefId id();

    /** Waits for the value, fetches it and returns it. */
    T result();

    /** Like {@link #result()}; past the timeout throws a QuiverException caused by a TimeoutException. */
    T result(Duration timeout);

    /** Finished, successfully or not. */
    boolean isDone();

    CompletableFuture<T> toCompletableFuture();

    /** Ids of the executors holding the value now. */
    Set<String> locations();

    /** Serialized size once known, -1 before. */
    long sizeBytes();

    /** Releases the value. Idempotent. */
    @Override
    void close();
}
