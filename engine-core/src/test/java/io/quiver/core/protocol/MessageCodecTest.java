package io.quiver.core.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.*;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageCodecTest {
    static final RefId R = new RefId(3, 4);
    static final Peer P = new Peer("e1", "127.0.0.1", 4000);

    /** Encodes through the real encoder and decodes through the frame decoder and decoder. */
    static Message roundTrip(Message m) {
        EmbeddedChannel out = new EmbeddedChannel(MessageCodec.Encoder.INSTANCE);
        out.writeOutbound(m);
        ByteBuf wire = Unpooled.buffer();
        for (Object o; (o = out.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            wire.writeBytes(b);
            b.release();
        }
        EmbeddedChannel in = new EmbeddedChannel(MessageCodec.frameDecoder(1 << 20), new MessageCodec.Decoder());
        in.writeInbound(wire);
        Message decoded = in.readInbound();
        assertThat((Object) in.readInbound()).isNull();
        return decoded;
    }

    @Test
    void everyControlMessageSurvivesTheWire() {
        Failure f = new Failure(Failure.TASK, "java.lang.X", "msg", "stack", "e1", 2);
        List<Message> all = List.of(
                new Challenge(new byte[] {1, 2}, "leader", 5),
                new Hello(Role.EXECUTOR, "e1", 5, new byte[] {1, 2}, new byte[] {7}),
                new Welcome("leader", 5, 99, new byte[] {3}),
                new Refused("no"),
                new Submit(List.of(new FnDef(1, new byte[] {1, 2, 3}, null)),
                        List.of(new TaskSpec(R, 1, List.of(Arg.ref(R), Arg.value(new byte[] {4}))))),
                new Release(List.of(R)),
                new ScatterRequest(1, R, 100, (byte) 2, 0, List.of("e1", "e2")),
                new InfoRequest(3),
                new SubmitJob(4, R, new byte[] {1}, true),
                new ScatterPlan(1, R, List.of(P)),
                new RequestFailed(1, RequestFailed.INSUFFICIENT_MEMORY, "too big", "e1", 10, 20),
                new RefsDone(List.of(new RefDone(R, 8, List.of("e1"), new byte[] {1}, null),
                        new RefDone(R, -1, List.of(), null, f))),
                new InfoReply(3, "leader", 5, List.of(new ExecInfo("e1", "h", 1, 2, 3, 4))),
                new JobReply(4, List.of(R), List.of(R), List.of(3), "plan"),
                new Register("h", 1, 2, 3, 4, List.of(new BlockInfo(R, 5)), List.of(R),
                        List.of(new TaskResult(R, 0, List.of(), null, new Failure("task", "T", "m", "s", "e", 1)))),
                new Hold(List.of(new HeldRef(R, HeldRef.BROADCAST, 10, List.of("e1")))),
                new HoldPins(List.of(new HoldPins.Pin(R, List.of("e1", "e2")))),
                new Goodbye(),
                new TaskResults(List.of(new TaskResult(R, 10, List.of(new BlockInfo(R, 5)), null, f)), 77),
                new StoredBlocks(List.of(new BlockInfo(R, 5)), List.of(new BlockFailure(R, "crc")), 6),
                new Status(1, 2),
                new Launch(5, List.of(new FnDef(1, new byte[] {1}, null)),
                        List.of(new TaskLaunch(List.of(R), 1, List.of(Arg.ref(R).withLocations(List.of(P)))))),
                new Drop(5, List.of(R), List.of(1L, 2L)),
                new Replicate(5, List.of(new Replicate.Copy(R, 4096, List.of(P)))),
                new Fetch(9, R),
                new Launch(5, List.of(), List.of(new TaskLaunch(List.of(R), 1,
                        List.of(Arg.slice(R, 12).withLocations(List.of(P)), Arg.ref(R))))),
                new SliceFetch(9, List.of(new SliceFetch.Slice(R, 0), new SliceFetch.Slice(R, 199))),
                new ShareProbe(10, "/dev/shm/quiver-u/1-00.probe", new byte[] {4, 5}),
                new ShareProbeReply(10, true, ""),
                new PutShared(R, "/dev/shm/quiver-u/1-00.blk", 12345, 0xCAFEL),
                new FetchFailed(9, "gone"));
        for (Message m : all) {
            Message back = roundTrip(m);
            assertThat(back).usingRecursiveComparison().isEqualTo(m);
        }
    }

    @Test
    void dataChunksKeepTheirBytesWithoutCopying() {
        ByteBuf data = Unpooled.copiedBuffer("hello chunk", StandardCharsets.UTF_8);
        PutChunk back = (PutChunk) roundTrip(new PutChunk(R, 100, 10, 0, List.of(P), data));
        assertThat(back.data().toString(StandardCharsets.UTF_8)).isEqualTo("hello chunk");
        assertThat(back.forward()).containsExactly(P);
        assertThat(data.refCnt()).as("the encoder consumed the sender's reference").isZero();
        back.data().release();
    }

    @Test
    void aMapOutputsBucketSummaryTravelsSparse() {
        int[] rows = new int[2001];
        rows[3] = 2;
        rows[2000] = 1;
        TaskResults sparse = new TaskResults(List.of(new TaskResult(R, 1, List.of(new BlockInfo(R, 90, rows)), null,
                null)), 0);
        TaskResults back = (TaskResults) roundTrip(sparse);
        assertThat(back.results().get(0).outputs().get(0).bucketRows()).isEqualTo(rows);
        assertThat(((TaskResults) roundTrip(new TaskResults(List.of(new TaskResult(R, 1,
                List.of(new BlockInfo(R, 90)), null, null)), 0))).results().get(0).outputs().get(0).bucketRows())
                .isNull();
        ByteBuf wire = Unpooled.buffer();
        sparse.write(wire);
        assertThat(wire.readableBytes()).as("two non-empty of 2,001 buckets cost 16 bytes, not 8 KiB").isLessThan(100);
        wire.release();
        // A summary naming a bucket outside its count is a protocol error.
        ByteBuf bad = Unpooled.buffer().writeByte(Message.Type.TASK_RESULTS.code).writeInt(1).writeLong(3).writeLong(4)
                .writeLong(1).writeInt(1).writeLong(3).writeLong(4).writeLong(90).writeInt(5).writeInt(1).writeInt(7)
                .writeInt(1);
        assertThatThrownBy(() -> MessageCodec.decode(bad)).isInstanceOf(ProtocolException.class)
                .hasMessageContaining("outside 5 buckets");
    }

    @Test
    void unknownTypesTruncatedFramesAndLiesAboutLengthsAreProtocolErrors() {
        assertThatThrownBy(() -> MessageCodec.decode(Unpooled.wrappedBuffer(new byte[] {99})))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("unknown message type 99");
        assertThatThrownBy(() -> MessageCodec.decode(Unpooled.wrappedBuffer(new byte[] {13, 0, 0})))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("truncated");
        // A Release claiming two billion refs in a 4-byte body must not allocate anything.
        ByteBuf lie = Unpooled.buffer().writeByte(11).writeInt(Integer.MAX_VALUE);
        assertThatThrownBy(() -> MessageCodec.decode(lie))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("does not fit");
        ByteBuf trailing = Unpooled.buffer().writeByte(13).writeLong(1).writeByte(0);
        assertThatThrownBy(() -> MessageCodec.decode(trailing))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("unexpected bytes");
        ByteBuf chunkOutside = Unpooled.buffer().writeByte(52).writeLong(1).writeLong(4).writeLong(2).writeBytes(new byte[8]);
        assertThatThrownBy(() -> MessageCodec.decode(chunkOutside))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("outside block");
        assertThat(chunkOutside.refCnt()).isEqualTo(1);
        chunkOutside.release();
    }

    @Test
    void oversizedFramesAreRejectedBeforeTheyAreBuffered() {
        EmbeddedChannel in = new EmbeddedChannel(MessageCodec.frameDecoder(1024), new MessageCodec.Decoder());
        ByteBuf huge = Unpooled.buffer().writeInt(1 << 30).writeByte(13);
        assertThatThrownBy(() -> in.writeInbound(huge)).isInstanceOf(TooLongFrameException.class);
        in.finishAndReleaseAll();
    }

    @Test
    void malformedFramesSurfaceAsDecoderExceptions() {
        EmbeddedChannel in = new EmbeddedChannel(MessageCodec.frameDecoder(1024), new MessageCodec.Decoder());
        ByteBuf garbage = Unpooled.buffer().writeInt(3).writeBytes(new byte[] {42, 42, 42});
        assertThatThrownBy(() -> in.writeInbound(garbage)).isInstanceOf(DecoderException.class)
                .hasRootCauseInstanceOf(ProtocolException.class);
        in.finishAndReleaseAll();
    }
}
