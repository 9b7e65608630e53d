package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.quiver.QuiverException;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.task.CompactFunctions;
import io.quiver.core.task.TaskFunction;
import io.quiver.executor.block.BlockStore;
import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;

/**
 * A function this executor knows by id: deserialized once, on first use by a worker, and shared
 * by every task naming it. A deserialization failure (a missing class) is remembered and fails
 * every such task the same way. Thread-safe.
 */
final class FunctionEntry {
    private final FnDef def;
    /** The client whose tasks use it (a function belongs to one client); set by the loop at first use. */
    Long owner;
    private volatile TaskFunction function;
    private Throwable failure;

    FunctionEntry(FnDef def) {
        this.def = def;
    }

    FnDef def() {
        return def;
    }

    boolean sameDefinition(FnDef other) {
        return java.util.Arrays.equals(def.bytes(), other.bytes()) && java.util.Objects.equals(def.block(), other.block());
    }

    /** Blocking: may deserialize, and read the function's block back from disk. */
    TaskFunction get(BlockStore store, ClassLoader loader, LongAdder deserialized) throws Throwable {
        TaskFunction f = function;
        if (f != null) {
            return f;
        }
        synchronized (this) {
            if (function != null) {
                return function;
            }
            if (failure != null) {
                throw failure;
            }
            Object o;
            try {
                o = def.block() != null ? fromBlock(store, loader)
                        : CompactFunctions.isCompact(def.bytes()) ? CompactFunctions.decode(def.bytes(), loader)
                        : JavaSerialization.deserialize(def.bytes(), loader);
            } catch (BlockStore.MissingBlockException e) {
                throw e; // not remembered: the block may arrive again
            } catch (Throwable t) {
                failure = t;
                throw t;
            }
            if (!(o instanceof TaskFunction tf)) {
                failure = new QuiverException("function " + def.fnId() + " deserialized to a "
                        + (o == null ? "null" : o.getClass().getName()) + ", not a " + TaskFunction.class.getName());
                throw failure;
            }
            deserialized.increment();
            function = tf;
            return tf;
        }
    }

    /**
     * A function over 1 MiB travels as a block: its Java serialization bytes, raw (starting with
     * the stream magic 0xACED) or as a value of {@link DefaultCodec} (a byte[] or the function).
     */
    private Object fromBlock(BlockStore store, ClassLoader loader) throws IOException {
        ByteBuf data = store.retainedData(def.block());
        if (data == null) {
            throw new BlockStore.MissingBlockException(def.block());
        }
        try {
            if (data.readableBytes() >= 2 && data.getUnsignedShort(data.readerIndex()) == 0xACED) {
                try (ByteBufInputStream in = new ByteBufInputStream(data.duplicate())) {
                    return JavaSerialization.readFrom(in, loader, data.readableBytes());
                }
            }
            Object o = DefaultCodec.INSTANCE.decode(data.duplicate(), loader);
            return o instanceof byte[] bytes ? JavaSerialization.deserialize(bytes, loader) : o;
        } finally {
            data.release();
        }
    }
}
