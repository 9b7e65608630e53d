package io.quiver.core.client;

import io.quiver.ClusterUnavailableException;
import io.quiver.DataLostException;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.TaskFailedException;
import io.quiver.core.protocol.Message.Failure;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the client knows of one ref: whether it is done, where it lives, its inline bytes or its
 * failure. Written by the client's network thread, read by user threads (fields are published by
 * completing {@link #done}).
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

    /** Turns a remote failure into the public exception it stands for. */
    static RuntimeException toException(RefId ref, Failure f) {
        String kind = f.kind() == null ? Failure.TASK : f.kind();
        return switch (kind) {
            case Failure.LOST -> new DataLostException(f.message());
            case Failure.UNAVAILABLE -> new ClusterUnavailableException(f.message());
            default -> f.type() == null ? new QuiverException(String.valueOf(f.message()))
                    : new TaskFailedException(f.type(), f.message(), f.stack(), ref.toString(), f.executorId(), f.attempts());
        };
    }
}
