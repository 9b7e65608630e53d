package io.quiver.core.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.quiver.QuiverException;
import io.quiver.core.plan.KeyedBucket;
import io.quiver.core.plan.ShuffleOutput;

/**
 * The block of a shuffle map output ({@link ShuffleOutput}) with a bucket index, as Spark's
 * IndexShuffleBlockResolver keeps one beside each map output: the byte range of each bucket's
 * encoded rows, so one bucket is cut from the block ({@link #locate}) and decoded without touching
 * the others. Stateless and thread-safe.
 *
 * <pre>
 *   block:  SHUFFLE (102) | int side | int n | int rows[n] | int ends[n] | bucket 0 bytes | ... | bucket n-1 bytes
 *           bucket b is [ends[b-1], ends[b]) of the bytes after the header (ends[-1] = 0); an empty
 *           bucket has no bytes
 *   bucket: VALUE (0) | value in DefaultCodec's encoding
 *           PAIRS (1) | keys column | values column          (a KeyedBucket)
 *           ROWS (2)  | column                               (an Object[], repartition's rows)
 *   column: LONGS (1) | int n | n longs    INTS (2) | int n | n ints    DOUBLES (3) | int n | n doubles
 *           (every element of exactly that boxed type: no per-element type tags or reference
 *           tracking, the common case of numeric keys and values), else
 *           ANY (0) | int length | the Object[] in DefaultCodec's encoding
 *   slice entry (as a slice fetch streams it):  int side | int n | int bucket | int length | bucket bytes
 * </pre>
 */
public final class ShuffleBlocks {
    /** The codec tag of a map-output block. */
    public static final byte TAG = 102;
    /** Bytes of a slice entry before the bucket's bytes. */
    public static final int ENTRY_HEADER = 16;
    /** Most buckets a map output may have (as BlockInfo allows for its summary). */
    public static final int MAX_BUCKETS = 1 << 22;

    private ShuffleBlocks() {}

    /** Where one bucket's bytes are in a block: absolute reader offsets in the block buffer. */
    public record Slice(int side, int buckets, int bucket, int offset, int length) {}

    static ByteBuf encode(ShuffleOutput so, ByteBufAllocator alloc, ClassLoader loader) {
        if (so.isSlice()) {
            throw new QuiverException("a slice of a shuffle map output is read by its reduce task, never stored");
        }
        int n = so.buckets();
        int[] rows = so.rows();
        ByteBuf[] parts = new ByteBuf[n];
        try {
            long data = 0;
            for (int b = 0; b < n; b++) {
                Object v = so.bucket(b);
                if (v != null) {
                    parts[b] = encodeBucket(v, alloc, loader);
                    data += parts[b].readableBytes();
                }
            }
            long size = 9L + 8L * n + data;
            if (size > Integer.MAX_VALUE - 8) {
                throw new QuiverException("a shuffle map output of " + size + " bytes is over 2 GiB; use more map"
                        + " partitions (repartition the input) so each map task writes less");
            }
            ByteBuf out = size >= (1 << 20) ? alloc.directBuffer((int) size, (int) size) : alloc.heapBuffer((int) size);
            out.writeByte(TAG).writeInt(so.side()).writeInt(n);
            for (int r : rows) {
                out.writeInt(r);
            }
            int end = 0;
            for (ByteBuf p : parts) {
                end += p == null ? 0 : p.readableBytes();
                out.writeInt(end);
            }
            for (ByteBuf p : parts) {
                if (p != null) {
                    out.writeBytes(p);
                }
            }
            return out;
        } finally {
            for (ByteBuf p : parts) {
                if (p != null) {
                    p.release();
                }
            }
        }
    }

    /** The whole output; {@code in} is past the tag. Consumes the block's bytes. */
    static ShuffleOutput decode(ByteBuf in, ClassLoader loader) {
        int start = in.readerIndex() - 1;
        Header h = header(in, start);
        Object[] buckets = new Object[h.n];
        int[] rows = new int[h.n];
        for (int b = 0; b < h.n; b++) {
            rows[b] = in.getInt(start + 9 + 4 * b);
            Slice s = h.slice(in, start, b);
            buckets[b] = decodeBucket(in, s.offset, s.length, loader);
        }
        in.readerIndex(h.dataStart + h.dataLength);
        return ShuffleOutput.of(h.side, buckets, rows);
    }

    /**
     * Where bucket {@code bucket} of the block in {@code block}'s readable bytes is (bucket 0 of a
     * one-bucket output, which is read whole whatever the reduce task's bucket). Does not move
     * {@code block}'s indices.
     *
     * @throws IllegalArgumentException naming what is wrong: not a map-output block, a bucket out of
     *     range, a corrupt index
     */
    public static Slice locate(ByteBuf block, int bucket) {
        int start = block.readerIndex();
        if (block.readableBytes() < 9 || block.getByte(start) != TAG) {
            throw new IllegalArgumentException("the block is not a shuffle map output (codec tag "
                    + (block.isReadable() ? block.getByte(start) : "none") + ", expected " + TAG + ")");
        }
        Header h = header(block, start);
        int b = h.n == 1 ? 0 : bucket;
        if (b < 0 || b >= h.n) {
            throw new IllegalArgumentException("bucket " + bucket + " is out of range: the map output has " + h.n
                    + " buckets");
        }
        return h.slice(block, start, b);
    }

    /** Bucket {@code bucket} of a map-output block, decoded alone. */
    public static ShuffleOutput slice(ByteBuf block, int bucket, ClassLoader loader) {
        Slice s;
        try {
            s = locate(block, bucket);
        } catch (IllegalArgumentException e) {
            throw new QuiverException("cannot read bucket " + bucket + " of a shuffle map output: " + e.getMessage(), e);
        }
        return ShuffleOutput.slice(s.side, s.buckets, s.bucket, decodeBucket(block, s.offset, s.length, loader));
    }

    /** Writes a slice entry's header (the bucket's bytes follow it). */
    public static void writeEntryHeader(ByteBuf out, Slice s) {
        out.writeInt(s.side).writeInt(s.buckets).writeInt(s.bucket).writeInt(s.length);
    }

    /** The length of the slice entry at {@code at}, header included; {@link QuiverException} if it does not fit. */
    public static int entryLength(ByteBuf buf, int at) {
        if (at < 0 || buf.writerIndex() - at < ENTRY_HEADER) {
            throw new QuiverException("corrupt slice stream: truncated entry header at " + at);
        }
        int len = buf.getInt(at + 12);
        if (len < 0 || len > buf.writerIndex() - at - ENTRY_HEADER) {
            throw new QuiverException("corrupt slice stream: entry of " + len + " bytes at " + at + " but "
                    + (buf.writerIndex() - at - ENTRY_HEADER) + " follow");
        }
        return ENTRY_HEADER + len;
    }

    /** Decodes one slice entry (its readable bytes): the reduce task's view of one map output. */
    public static ShuffleOutput decodeEntry(ByteBuf entry, ClassLoader loader) {
        int at = entry.readerIndex();
        if (entry.readableBytes() < ENTRY_HEADER) {
            throw new QuiverException("corrupt slice: " + entry.readableBytes() + " bytes, shorter than its header");
        }
        int side = entry.getInt(at);
        int n = entry.getInt(at + 4);
        int b = entry.getInt(at + 8);
        int len = entry.getInt(at + 12);
        if (n < 1 || n > MAX_BUCKETS || b < 0 || b >= n || len < 0 || len != entry.readableBytes() - ENTRY_HEADER) {
            throw new QuiverException("corrupt slice: bucket " + b + " of " + n + ", " + len + " bytes in "
                    + (entry.readableBytes() - ENTRY_HEADER));
        }
        return ShuffleOutput.slice(side, n, b, decodeBucket(entry, at + ENTRY_HEADER, len, loader));
    }

    private static final byte VALUE = 0;
    private static final byte PAIRS = 1;
    private static final byte ROWS = 2;
    private static final byte ANY = 0;
    private static final byte LONGS = 1;
    private static final byte INTS = 2;
    private static final byte DOUBLES = 3;

    private static ByteBuf encodeBucket(Object v, ByteBufAllocator alloc, ClassLoader loader) {
        if (v instanceof KeyedBucket k && k.keys().length == k.values().length) {
            ByteBuf out = alloc.buffer(64);
            try {
                out.writeByte(PAIRS);
                writeColumn(out, k.keys(), alloc, loader);
                writeColumn(out, k.values(), alloc, loader);
                return out;
            } catch (RuntimeException | Error e) {
                out.release();
                throw e;
            }
        }
        if (v instanceof Object[] rows && v.getClass() == Object[].class) {
            ByteBuf out = alloc.buffer(64);
            try {
                out.writeByte(ROWS);
                writeColumn(out, rows, alloc, loader);
                return out;
            } catch (RuntimeException | Error e) {
                out.release();
                throw e;
            }
        }
        ByteBuf value = DefaultCodec.INSTANCE.encode(v, alloc, loader);
        try {
            return alloc.buffer(1 + value.readableBytes()).writeByte(VALUE).writeBytes(value);
        } finally {
            value.release();
        }
    }

    private static void writeColumn(ByteBuf out, Object[] a, ByteBufAllocator alloc, ClassLoader loader) {
        Class<?> type = a.length == 0 || a[0] == null ? null : a[0].getClass();
        if (type == Long.class || type == Integer.class || type == Double.class) {
            boolean same = true;
            for (Object o : a) {
                if (o == null || o.getClass() != type) {
                    same = false;
                    break;
                }
            }
            if (same) {
                if (type == Long.class) {
                    out.ensureWritable(5 + 8 * a.length);
                    out.writeByte(LONGS).writeInt(a.length);
                    for (Object o : a) {
                        out.writeLong((Long) o);
                    }
                } else if (type == Integer.class) {
                    out.ensureWritable(5 + 4 * a.length);
                    out.writeByte(INTS).writeInt(a.length);
                    for (Object o : a) {
                        out.writeInt((Integer) o);
                    }
                } else {
                    out.ensureWritable(5 + 8 * a.length);
                    out.writeByte(DOUBLES).writeInt(a.length);
                    for (Object o : a) {
                        out.writeLong(Double.doubleToRawLongBits((Double) o));
                    }
                }
                return;
            }
        }
        ByteBuf any = DefaultCodec.INSTANCE.encode(a, alloc, loader);
        try {
            out.writeByte(ANY).writeInt(any.readableBytes()).writeBytes(any);
        } finally {
            any.release();
        }
    }

    private static Object decodeBucket(ByteBuf buf, int offset, int length, ClassLoader loader) {
        if (length == 0) {
            return null;
        }
        ByteBuf view = buf.slice(offset, length);
        byte kind = view.readByte();
        Object v = switch (kind) {
            case VALUE -> DefaultCodec.INSTANCE.decode(view, loader);
            case PAIRS -> {
                Object[] keys = readColumn(view, loader);
                Object[] values = readColumn(view, loader);
                if (keys.length != values.length) {
                    throw new QuiverException("corrupt shuffle bucket: " + keys.length + " keys but " + values.length
                            + " values");
                }
                yield new KeyedBucket(keys, values);
            }
            case ROWS -> readColumn(view, loader);
            default -> throw new QuiverException("corrupt shuffle bucket: unknown kind " + kind);
        };
        if (view.isReadable()) {
            throw new QuiverException("corrupt shuffle bucket: " + view.readableBytes() + " bytes left after its value");
        }
        return v;
    }

    private static Object[] readColumn(ByteBuf in, ClassLoader loader) {
        if (in.readableBytes() < 5) {
            throw new QuiverException("corrupt shuffle bucket: truncated column");
        }
        byte type = in.readByte();
        int n = in.readInt();
        int width = type == INTS ? 4 : type == ANY ? 1 : 8;
        if (n < 0 || (long) n * width > in.readableBytes()) {
            throw new QuiverException("corrupt shuffle bucket: column of " + n + " in " + in.readableBytes() + " bytes");
        }
        switch (type) {
            case LONGS -> {
                Object[] a = new Object[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.readLong();
                }
                return a;
            }
            case INTS -> {
                Object[] a = new Object[n];
                for (int i = 0; i < n; i++) {
                    a[i] = in.readInt();
                }
                return a;
            }
            case DOUBLES -> {
                Object[] a = new Object[n];
                for (int i = 0; i < n; i++) {
                    a[i] = Double.longBitsToDouble(in.readLong());
                }
                return a;
            }
            case ANY -> {
                ByteBuf value = in.readSlice(n);
                Object v = DefaultCodec.INSTANCE.decode(value, loader);
                if (!(v instanceof Object[] a) || value.isReadable()) {
                    throw new QuiverException("corrupt shuffle bucket: a column that is not an Object[]");
                }
                return a;
            }
            default -> throw new QuiverException("corrupt shuffle bucket: unknown column type " + type);
        }
    }

    private record Header(int side, int n, int dataStart, int dataLength) {
        Slice slice(ByteBuf buf, int start, int b) {
            int ends = start + 9 + 4 * n;
            int from = b == 0 ? 0 : buf.getInt(ends + 4 * (b - 1));
            int to = buf.getInt(ends + 4 * b);
            if (from < 0 || to < from || to > dataLength) {
                throw new IllegalArgumentException("corrupt bucket index: bucket " + b + " at [" + from + ", " + to
                        + ") of " + dataLength + " bytes");
            }
            return new Slice(side, n, b, dataStart + from, to - from);
        }
    }

    private static Header header(ByteBuf buf, int start) {
        int readable = buf.writerIndex() - start;
        if (readable < 9) {
            throw new IllegalArgumentException("corrupt map output: " + readable + " bytes, shorter than its header");
        }
        int side = buf.getInt(start + 1);
        int n = buf.getInt(start + 5);
        if (n < 0 || n > MAX_BUCKETS || 9L + 8L * n > readable) {
            throw new IllegalArgumentException("corrupt map output: " + n + " buckets in " + readable + " bytes");
        }
        int dataStart = start + 9 + 8 * n;
        int dataLength = n == 0 ? 0 : buf.getInt(start + 9 + 4 * n + 4 * (n - 1));
        if (dataLength < 0 || dataLength > buf.writerIndex() - dataStart) {
            throw new IllegalArgumentException("corrupt map output: " + dataLength + " bucket bytes indexed, "
                    + (buf.writerIndex() - dataStart) + " present");
        }
        return new Header(side, n, dataStart, dataLength);
    }
}
