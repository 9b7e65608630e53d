package io.quiver.core.client;

import io.quiver.ClusterUnavailableException;
import io.quiver.DataLostException;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.TaskFailedException;
import io.quiver.core.protocol.Message.Failure;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Written by the session loop, read by user threads: what the client knows of one ref: whether it
 * is done, where it lives, its inline bytes or its failure (fields are published by completing
 * {@link #done}). A RefDone for a ref already done only refreshes its size and locations.
 */
final class RefState {
    final RefId id;
    final CompletableFuture<RefState> done = new CompletableFuture<>();
    volatile long size = -1;
    volatile List<String> locations = List.of();
    volatile byte[] inline;
    volatile Object value;
    volatile boolean decoded;

    RefState(RefId id) {
        this.id = id;
    }

    void complete(long size, List<String> locations, byte[] inline) {
        this.size = size;
        this.locations = locations;
        if (inline != null) {
            this.inline = inline;
        }
        done.complete(this);
    }

    void fail(RuntimeException e) {
        done.completeExceptionally(e);
    }

    /** Waits until done (at most {@code timeout}, if not null); throws the ref's own failure. */
    void await(Duration timeout) {
        try {
            if (timeout == null) {
                done.get();
            } else {
                done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                // Rethrow a fresh copy of the stack at the caller, keeping the type.
                re.addSuppressed(new QuiverException("waited for " + id + " here"));
                throw re;
            }
            throw new QuiverException("ref " + id + " failed", c);
        } catch (TimeoutException e) {
            throw new QuiverException("ref " + id + " not done within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while waiting for " + id, e);
        }
    }

    /** Turns a remote failure into the public exception it stands for. */
    static RuntimeException toException(RefId ref, Failure f) {
        String kind = f.kind() == null ? Failure.TASK : f.kind();
        return switch (kind) {
            case Failure.LOST -> new DataLostException(f.message());
            case Failure.UNAVAILABLE -> new ClusterUnavailableException(f.message());
            case Failure.CANCELLED -> new QuiverException(f.message(),
                    new java.util.concurrent.CancellationException(f.message()));
            default -> f.type() == null ? new QuiverException(String.valueOf(f.message()))
                    : new TaskFailedException(f.type(), f.message(), f.stack(), ref.toString(), f.executorId(), f.attempts());
        };
    }
}
