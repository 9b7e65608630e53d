package io.quiver.core.protocol;

import io.netty.buffer.ByteBuf;
import io.quiver.RefId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Reading and writing the protocol's field types. Every read checks bounds against what the frame
 * holds and raises {@link ProtocolException}, so a malformed frame can never allocate more than
 * its own size or read past its end.
 */
public final class Wire {
    private Wire() {}

    public static void writeString(ByteBuf out, String s) {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.writeBytes(b);
    }

    public static String readString(ByteBuf in) {
        int n = readLength(in, 1, true);
        if (n < 0) {
            return null;
        }
        String s = in.toString(in.readerIndex(), n, StandardCharsets.UTF_8);
        in.skipBytes(n);
        return s;
    }

    public static void writeBytes(ByteBuf out, byte[] b) {
        if (b == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(b.length);
        out.writeBytes(b);
    }

    public static byte[] readBytes(ByteBuf in) {
        int n = readLength(in, 1, true);
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        in.readBytes(b);
        return b;
    }

    public static void writeRef(ByteBuf out, RefId id) {
        out.writeLong(id.owner());
        out.writeLong(id.seq());
    }

    public static RefId readRef(ByteBuf in) {
        need(in, 16);
        return new RefId(in.readLong(), in.readLong());
    }

    public static <T> void writeList(ByteBuf out, List<T> items, BiConsumer<ByteBuf, T> writer) {
        out.writeInt(items.size());
        for (T item : items) {
            writer.accept(out, item);
        }
    }

    /** Reads a list; {@code minItemBytes} bounds the count by what the frame can hold. */
    public static <T> List<T> readList(ByteBuf in, int minItemBytes, Function<ByteBuf, T> reader) {
        int n = readLength(in, Math.max(1, minItemBytes), false);
        List<T> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(reader.apply(in));
        }
        return List.copyOf(out);
    }

    public static int readInt(ByteBuf in) {
        need(in, 4);
        return in.readInt();
    }

    public static long readLong(ByteBuf in) {
        need(in, 8);
        return in.readLong();
    }

    public static byte readByte(ByteBuf in) {
        need(in, 1);
        return in.readByte();
    }

    public static boolean readBoolean(ByteBuf in) {
        need(in, 1);
        return in.readBoolean();
    }

    private static int readLength(ByteBuf in, int minItemBytes, boolean nullable) {
        need(in, 4);
        int n = in.readInt();
        if (n == -1 && nullable) {
            return -1;
        }
        if (n < 0 || (long) n * minItemBytes > in.readableBytes()) {
            throw new ProtocolException("length " + n + " does not fit the " + in.readableBytes()
                    + " bytes left in the frame");
        }
        return n;
    }

    private static void need(ByteBuf in, int n) {
        if (in.readableBytes() < n) {
            throw new ProtocolException("frame truncated: needed " + n + " bytes, " + in.readableBytes() + " left");
        }
    }
}
