package io.quiver.core.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes a large primitive array chunk by chunk, in exactly the bytes {@link DefaultCodec} writes,
 * so that a scatter can stream it while encoding: no full-size intermediate buffer, each chunk in
 * pooled (already paged-in) direct memory, and the copy of chunk n overlaps the send of chunk n-1.
 * Chunks end on element boundaries. Not thread-safe: one sender drives it.
 */
public final class ArrayChunker {
    /** Arrays smaller than this are encoded in one piece. */
    public static final int MIN_BYTES = 1 << 20;

    private final Object array;
    private final byte tag;
    private final int length;
    private final int width;
    private boolean headerWritten;
    private int next;

    private ArrayChunker(Object array, byte tag, int length, int width) {
        this.array = array;
        this.tag = tag;
        this.length = length;
        this.width = width;
    }

    /** A chunker for a large primitive array, or null for anything else. */
    public static ArrayChunker of(Object value) {
        ArrayChunker c;
        if (value instanceof double[] a) {
            c = new ArrayChunker(a, DefaultCodec.DOUBLES, a.length, 8);
        } else if (value instanceof long[] a) {
            c = new ArrayChunker(a, DefaultCodec.LONGS, a.length, 8);
        } else if (value instanceof int[] a) {
            c = new ArrayChunker(a, DefaultCodec.INTS, a.length, 4);
        } else if (value instanceof float[] a) {
            c = new ArrayChunker(a, DefaultCodec.FLOATS, a.length, 4);
        } else if (value instanceof short[] a) {
            c = new ArrayChunker(a, DefaultCodec.SHORTS, a.length, 2);
        } else if (value instanceof char[] a) {
            c = new ArrayChunker(a, DefaultCodec.CHARS, a.length, 2);
        } else if (value instanceof byte[] a) {
            c = new ArrayChunker(a, DefaultCodec.BYTES, a.length, 1);
        } else {
            return null;
        }
        return c.encodedSize() >= MIN_BYTES && c.encodedSize() < Integer.MAX_VALUE - 8 ? c : null;
    }

    /** The size of the whole encoded value: a tag, a length, the elements. */
    public long encodedSize() {
        return 5L + (long) length * width;
    }

    public boolean hasNext() {
        return !headerWritten || next < length;
    }

    /** The next chunk, at most {@code maxBytes} (at least one element), in a direct buffer the caller owns. */
    public ByteBuf next(ByteBufAllocator alloc, int maxBytes) {
        int header = headerWritten ? 0 : 5;
        int elements = Math.min(length - next, Math.max(1, (maxBytes - header) / width));
        int bytes = header + elements * width;
        ByteBuf buf = alloc.directBuffer(bytes, bytes);
        if (!headerWritten) {
            buf.writeByte(tag).writeInt(length);
            headerWritten = true;
        }
        ByteBuffer view = buf.nioBuffer(buf.writerIndex(), elements * width).order(ByteOrder.LITTLE_ENDIAN);
        switch (tag) {
            case DefaultCodec.DOUBLES -> view.asDoubleBuffer().put((double[]) array, next, elements);
            case DefaultCodec.LONGS -> view.asLongBuffer().put((long[]) array, next, elements);
            case DefaultCodec.INTS -> view.asIntBuffer().put((int[]) array, next, elements);
            case DefaultCodec.FLOATS -> view.asFloatBuffer().put((float[]) array, next, elements);
            case DefaultCodec.SHORTS -> view.asShortBuffer().put((short[]) array, next, elements);
            case DefaultCodec.CHARS -> view.asCharBuffer().put((char[]) array, next, elements);
            default -> view.put((byte[]) array, next, elements);
        }
        buf.writerIndex(buf.writerIndex() + elements * width);
        next += elements;
        return buf;
    }
}
