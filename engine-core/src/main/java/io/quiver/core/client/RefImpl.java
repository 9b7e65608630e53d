package io.quiver.core.client;

import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.RefId;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** Thread-safe, any user thread: a client-side {@link Ref}. Released on close or when it becomes unreachable. */
final class RefImpl<T> implements Ref<T> {
    final QuiverClient client;
    final RefState state;
    final AtomicBoolean closed;

    RefImpl(QuiverClient client, RefState state, AtomicBoolean closed) {
        this.client = client;
        this.state = state;
        this.closed = closed;
    }

    @Override
    public RefId id() {
        return state.id;
    }

    @Override
    public T result() {
        return client.valueOf(this, null);
    }

    @Override
    public T result(Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must be a non-negative Duration, got " + timeout);
        }
        return client.valueOf(this, timeout);
    }

    @Override
    public boolean isDone() {
        return state.done.isDone();
    }

    @Override
    public CompletableFuture<T> toCompletableFuture() {
        return state.done.thenApplyAsync(s -> client.valueOf(this, null), client.userExecutor());
    }

    @Override
    public Set<String> locations() {
        return state.done.isDone() && !state.done.isCompletedExceptionally()
                ? Set.copyOf(new LinkedHashSet<>(state.locations)) : Set.of();
    }

    @Override
    public boolean cancel() {
        return client.cancel(this);
    }

    @Override
    public long sizeBytes() {
        return state.size;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            client.release(state.id);
        }
    }

    void checkOpen(String what) {
        if (closed.get()) {
            throw new QuiverException(what + ": ref " + state.id + " was closed; pass refs that are still open");
        }
    }

    @Override
    public String toString() {
        return "Ref(" + state.id + (isDone() ? ", done" : "") + ")";
    }
}
