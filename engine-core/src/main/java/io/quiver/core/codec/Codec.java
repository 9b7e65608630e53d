package io.quiver.core.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Turns data values into bytes and back. One instance serves every thread. Functions always go
 * through Java serialization ({@link JavaSerialization}); this interface carries data values.
 */
public interface Codec {
    /**
     * Encodes {@code value} into a new buffer that the caller owns and must release.
     *
     * @throws io.quiver.NotSerializableException if the value cannot be encoded
     */
    ByteBuf encode(Object value, ByteBufAllocator alloc);

    /** Decodes the readable bytes of {@code in}, resolving classes through {@code loader}. */
    Object decode(ByteBuf in, ClassLoader loader);

    /** {@link #encode} into a heap array, for small values. */
    default byte[] toBytes(Object value) {
        ByteBuf buf = encode(value, ByteBufAllocator.DEFAULT);
        try {
            byte[] out = new byte[buf.readableBytes()];
            buf.readBytes(out);
            return out;
        } finally {
            buf.release();
        }
    }

    /** {@link #decode} from a heap array. */
    default Object fromBytes(byte[] bytes, ClassLoader loader) {
        return decode(io.netty.buffer.Unpooled.wrappedBuffer(bytes), loader);
    }
}
