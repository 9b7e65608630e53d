package io.quiver.core.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.quiver.core.protocol.Message.DataMessage;
import java.util.List;

/**
 * The frame format and the one codec of {@link Message}.
 *
 * <pre>
 *  +----------------+--------+-------------------+----------------------+
 *  | length (int32) | type   | fields            | data (chunks only)   |
 *  +----------------+--------+-------------------+----------------------+
 *    not counted      1 byte   Message.write        DataMessage.data()
 * </pre>
 *
 * Data chunks are never copied: the encoder emits the header and the data buffer as two writes,
 * the decoder hands out a retained slice of the frame.
 */
public final class MessageCodec {
    /** Chunk size for bulk data. */
    public static final int CHUNK_SIZE = 1 << 20;
    /** Default largest frame: a chunk plus headroom, or a batch of control messages. */
    public static final int DEFAULT_MAX_FRAME = 64 << 20;

    private MessageCodec() {}

    /**
     * Splits the stream into frames; a frame longer than {@code maxFrame} fails the connection.
     * Frames are assembled by composing the socket reads rather than copying them into one buffer:
     * a 1 MiB chunk arrives in dozens of reads, and the merging copy was a full extra pass over
     * every byte of a scatter on every executor.
     */
    public static LengthFieldBasedFrameDecoder frameDecoder(int maxFrame) {
        LengthFieldBasedFrameDecoder decoder = new LengthFieldBasedFrameDecoder(maxFrame, 0, 4, 0, 4, true);
        decoder.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        return decoder;
    }

    /** Decodes one frame into one message; anything malformed raises {@link ProtocolException}. */
    public static Message decode(ByteBuf frame) {
        if (!frame.isReadable()) {
            throw new ProtocolException("empty frame");
        }
        Message m = Message.Type.of(frame.readByte()).read(frame);
        if (frame.isReadable()) {
            if (m instanceof DataMessage d) {
                d.data().release();
            }
            throw new ProtocolException(frame.readableBytes() + " unexpected bytes after a " + m.getClass().getSimpleName());
        }
        return m;
    }

    /** Frames to messages. */
    public static final class Decoder extends MessageToMessageDecoder<ByteBuf> {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) {
            out.add(MessageCodec.decode(frame));
        }
    }

    /** Messages to frames. Takes ownership of a DataMessage's data. */
    @ChannelHandler.Sharable
    public static final class Encoder extends MessageToMessageEncoder<Message> {
        public static final Encoder INSTANCE = new Encoder();

        @Override
        protected void encode(ChannelHandlerContext ctx, Message msg, List<Object> out) {
            ByteBuf header = ctx.alloc().buffer(64);
            try {
                header.writeInt(0);
                header.writeByte(msg.type().code);
                msg.write(header);
            } catch (RuntimeException e) {
                header.release();
                if (msg instanceof DataMessage d) {
                    d.data().release();
                }
                throw e;
            }
            int dataBytes = msg instanceof DataMessage d ? d.data().readableBytes() : 0;
            header.setInt(0, header.readableBytes() - 4 + dataBytes);
            out.add(header);
            if (msg instanceof DataMessage d) {
                out.add(d.data());
            }
        }
    }
}
