package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkNotNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.quiver.ClusterUnavailableException;
import io.quiver.InsufficientMemoryException;
import io.quiver.QuiverException;
import io.quiver.Scatter;
import io.quiver.core.codec.ArrayChunker;
import io.quiver.core.codec.Codec;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.MessageCodec;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs on the calling user thread: the scatter flow. Asks the leader where a value goes (it reserves
 * memory there or refuses before any byte moves; across a leader change the request goes to the next
 * leader), writes one copy into the host's shared memory for the targets on this host and streams
 * the chunks down the chain of the others, and waits until every target has stored and verified
 * its copy.
 */
final class Scatterer {
    private final Codec codec;
    private final RefTable refs;
    private final LeaderSession session;
    private final DataClient data;

    Scatterer(Codec codec, RefTable refs, LeaderSession session, DataClient data) {
        this.codec = codec;
        this.refs = refs;
        this.session = session;
        this.data = data;
    }

    /** Returns the stored ref's state; the caller makes the user's handle. */
    RefState scatter(Object value, Scatter options) {
        checkNotNull(options, "scatter: options are null; use Scatter.broadcast(), replicas(n) or on(ids)");
        ArrayChunker chunker = ArrayChunker.of(value);
        if (chunker != null) {
            // Large primitive arrays stream while they encode: no full-size copy before the first byte moves.
            return scatter(chunker.encodedSize(), options, () -> chunks(ArrayChunker.of(value)));
        }
        ByteBuf encoded;
        try {
            encoded = codec.encode(value, PooledByteBufAllocator.DEFAULT);
        } catch (io.quiver.NotSerializableException e) {
            throw new io.quiver.NotSerializableException("scatter: " + e.getMessage(), e.offendingClass(), e);
        }
        try {
            return scatter(encoded.readableBytes(), options, () -> DataClient.slices(encoded));
        } finally {
            encoded.release();
        }
    }

    private static DataClient.ChunkSource chunks(ArrayChunker chunker) {
        return new DataClient.ChunkSource() {
            @Override
            public boolean hasNext() {
                return chunker.hasNext();
            }

            @Override
            public ByteBuf next() {
                return chunker.next(PooledByteBufAllocator.DEFAULT, MessageCodec.CHUNK_SIZE);
            }
        };
    }

    /** Waits until every target confirmed its copy, bounded like every call that waits on the leader. */
    private void awaitStored(RefState state, long size, List<Message.Peer> targets) {
        java.time.Duration bound = session.callTimeout();
        try {
            state.done.get(bound.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new QuiverException("scatter of " + state.id + " (" + size + " bytes) to executors "
                    + targets.stream().map(Message.Peer::id).toList() + ": not every copy was confirmed stored within "
                    + bound.toMillis() + " ms; check that those executors are alive and have memory", e);
        } catch (java.util.concurrent.ExecutionException e) {
            // the ref's own failure, raised with its type below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while waiting for the scatter of " + state.id, e);
        }
        state.await(null);
    }

    private RefState scatter(long size, Scatter options, Supplier<DataClient.ChunkSource> chunks) {
        RefState state = refs.mint();
        boolean broadcast = options.mode() == Scatter.Mode.BROADCAST;
        byte mode = io.quiver.core.protocol.Message.ScatterRequest.code(options.mode());
        Message reply;
        try {
            reply = session.scatter(reqId -> new ScatterRequest(reqId, state.id, size, mode, options.replicas(),
                    options.executors()), broadcast ? HeldRef.BROADCAST : HeldRef.SCATTERED);
        } catch (RuntimeException e) {
            refs.remove(state.id);
            throw e;
        }
        if (reply instanceof RequestFailed f) {
            refs.remove(state.id);
            throw switch (f.kind()) {
                case RequestFailed.INSUFFICIENT_MEMORY ->
                        new InsufficientMemoryException(f.message(), f.executorId(), f.free(), f.requested());
                case RequestFailed.UNAVAILABLE -> new ClusterUnavailableException(f.message());
                case RequestFailed.INVALID -> new IllegalArgumentException("scatter: " + f.message());
                default -> new QuiverException("scatter refused: " + f.message());
            };
        }
        if (broadcast) {
            refs.markBroadcast(state.id);
        }
        java.nio.file.Path sharedCopy = null;
        try {
            List<Message.Peer> targets = ((ScatterPlan) reply).targets();
            sharedCopy = data.put(state.id, size, chunks, targets);
            awaitStored(state, size, targets);
            return state;
        } catch (RuntimeException e) {
            refs.remove(state.id);
            session.release(state.id);
            throw e;
        } finally {
            if (sharedCopy != null) {
                // The executors on this host have mapped it (or failed): their mappings outlive the file's name.
                data.doneWith(state.id, sharedCopy);
            }
        }
    }
}
