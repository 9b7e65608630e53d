package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.*;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.protocol.ProtocolException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * A fuzzer for every decoder: the frame decoder, the handshake and each message type, fed random
 * bytes and mutated valid frames (bits flipped, lengths overwritten, frames cut short or padded).
 * Every failure must be a {@link ProtocolException} (the codec) or a closed connection (the
 * pipeline); no other exception may escape, and every buffer must end released. jqwik prints the
 * seed of a failing run; rerun it with {@code @Property(seed = "...")}.
 *
 * <p>Leaks: Netty's leak detector runs at PARANOID (every buffer tracked, {@link TestingLeakDetector}),
 * and every {@value #TRIES_PER_LEAK_CHECK} tries the garbage is collected and any leak Netty reports
 * fails the property, with where the buffer was allocated and last touched. That check makes a
 * property depend on the tries before it, so these properties do not shrink.
 */
class DecoderFuzzTest {
    /** Tries between two garbage collections that look for leaked buffers; divides every property's tries. */
    static final int TRIES_PER_LEAK_CHECK = 50;
    private static final java.util.Map<String, Integer> TRIES = new java.util.concurrent.ConcurrentHashMap<>();

    @BeforeContainer
    static void paranoidLeakDetection() {
        TestingLeakDetector.forgetEarlierLeaks(); // earlier tests in this JVM are not this fuzzer's business
    }

    /** Counts a try of {@code property}; every {@value #TRIES_PER_LEAK_CHECK}th, fails on any leak since the last. */
    static void countTryAndCheckLeaks(String property) {
        int n = TRIES.merge(property, 1, Integer::sum);
        if (n % TRIES_PER_LEAK_CHECK == 0) {
            TestingLeakDetector.assertNoLeaks("tries " + (n - TRIES_PER_LEAK_CHECK + 1) + " to " + n + " of " + property);
        }
    }

    static final RefId R = new RefId(3, 4);
    static final Peer P = new Peer("e1", "127.0.0.1", 4000);

    /** One valid instance of every kind of frame, data messages included. */
    static List<Message> samples() {
        Failure f = new Failure(Failure.TASK, "java.lang.X", "msg", "stack", "e1", 2);
        return List.of(
                new Challenge(Secret.nonce(), "leader", 5),
                new Hello(Role.EXECUTOR, "e1", 5, Secret.nonce(), new byte[32]),
                new Welcome("leader", 5, 99, new byte[32]),
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
                        List.of(new TaskResult(R, 0, List.of(), null, f))),
                new Status(10, 2),
                new Launch(7, List.of(new FnDef(1, new byte[] {9}, null)),
                        List.of(new TaskLaunch(List.of(R), 1, List.of(Arg.value(new byte[] {1}))))),
                new Drop(7, List.of(R), List.of(1L)),
                new StoredBlocks(List.of(new BlockInfo(R, 5)), List.of(), 10),
                new Fetch(5, R),
                new PutChunk(R, 3, 0, 42, List.of(P), Unpooled.wrappedBuffer(new byte[] {1, 2, 3})),
                new FetchChunk(5, 3, 0, Unpooled.wrappedBuffer(new byte[] {1, 2, 3})),
                new JarChunk("ab".repeat(32), 2, 0, Unpooled.wrappedBuffer(new byte[] {1, 2})),
                new Submit(List.of(new FnDef(2, new byte[] {1}, null)), List.of(new TaskSpec(R, 2, List.of(),
                        new TaskOptions(2, -3, List.of("e1"), true)))),
                new Hold(List.of(new HeldRef(R, HeldRef.BROADCAST, 10, List.of("e1")))),
                new HoldPins(List.of(new HoldPins.Pin(R, List.of("e1", "e2")))),
                new Goodbye(),
                new Resume(true),
                new Cancel(List.of(R)),
                new ReplicateRequest(6, R, 3),
                new Ack(6),
                new TaskResults(List.of(new TaskResult(R, 5, List.of(new BlockInfo(R, 5)), null, null),
                        new TaskResult(R, 0, List.of(), null, new Failure(Failure.MISSING, "t", "m", "", "e1", 1, R))),
                        7),
                new Replicate(7, List.of(new Replicate.Copy(R, 5, List.of(P)))),
                new CancelTasks(7, List.of(R)),
                new FetchFailed(5, "gone"),
                new CodeOffer(3, "client-1", List.of(new JarInfo("ab".repeat(32), 10, "app.jar"))),
                new CodeWant(3, List.of("ab".repeat(32))),
                new CodeReady(3, ""),
                new CodeRelease(3),
                new SliceFetch(8, List.of(new SliceFetch.Slice(R, 3), new SliceFetch.Slice(R, 0))),
                new ShareProbe(9, "/dev/shm/quiver-u/1-00.probe", new byte[] {1, 2, 3}),
                new ShareProbeReply(9, false, "not here"),
                new PutShared(R, "/dev/shm/quiver-u/1-00.blk", 1 << 20, 77),
                new Launch(8, List.of(), List.of(new TaskLaunch(List.of(R), 1,
                        List.of(Arg.slice(R, 7).withLocations(List.of(P)))))));
    }

    @org.junit.jupiter.api.Test
    void theSamplesCoverEveryMessageType() {
        java.util.Set<Message.Type> covered = java.util.EnumSet.noneOf(Message.Type.class);
        samples().forEach(m -> covered.add(m.type()));
        assertThat(covered).as("add a sample for each new message type").containsExactlyInAnyOrder(
                Message.Type.values());
    }

    static final List<byte[]> BODIES = samples().stream().map(DecoderFuzzTest::body).toList();

    /** A frame's body (type byte and fields, data included), as the encoder writes it. */
    static byte[] body(Message m) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeByte(m.type().code);
        m.write(buf);
        if (m instanceof DataMessage d) {
            buf.writeBytes(d.data());
            d.data().release();
        }
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        return bytes;
    }

    /** A valid body, then 1 to 4 mutations chosen by {@code seed}. */
    static byte[] mutated(int which, long seed) {
        Random random = new Random(seed);
        byte[] b = BODIES.get(which).clone();
        for (int n = 1 + random.nextInt(4); n > 0; n--) {
            switch (random.nextInt(5)) {
                case 0 -> b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8)); // a bit flipped
                case 1 -> { // a 4-byte window overwritten: lengths, counts, ids
                    if (b.length > 4) {
                        int at = 1 + random.nextInt(b.length - 4);
                        int v = random.nextBoolean() ? random.nextInt() : random.nextInt(64) - 8;
                        b[at] = (byte) (v >>> 24);
                        b[at + 1] = (byte) (v >>> 16);
                        b[at + 2] = (byte) (v >>> 8);
                        b[at + 3] = (byte) v;
                    }
                }
                case 2 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length + 1)); // cut short
                case 3 -> { // padded with junk
                    byte[] longer = java.util.Arrays.copyOf(b, b.length + 1 + random.nextInt(16));
                    for (int i = b.length; i < longer.length; i++) {
                        longer[i] = (byte) random.nextInt();
                    }
                    b = longer;
                }
                default -> { // the type byte of another message
                    if (b.length > 0) {
                        b[0] = BODIES.get(random.nextInt(BODIES.size()))[0];
                    }
                }
            }
            if (b.length == 0) {
                break;
            }
        }
        return b;
    }

    /** Decodes from a pooled direct buffer; asserts the input is left exactly as owned. */
    static void decodeOrProtocolException(byte[] body) {
        ByteBuf frame = PooledByteBufAllocator.DEFAULT.directBuffer(Math.max(1, body.length));
        frame.writeBytes(body);
        try {
            Message m = MessageCodec.decode(frame);
            if (m instanceof DataMessage d) {
                d.data().release();
            }
        } catch (ProtocolException expected) {
            // a malformed frame, said so
        } finally {
            assertThat(frame.refCnt()).as("the decoder keeps no reference to a frame it failed on").isEqualTo(1);
            frame.release();
        }
    }

    @Property(tries = 2000, shrinking = ShrinkingMode.OFF)
    void everyMutatedFrameDecodesOrFailsWithAProtocolException(
            @ForAll @IntRange(min = 0, max = 999) int which, @ForAll long seed) {
        decodeOrProtocolException(mutated(which % BODIES.size(), seed));
        countTryAndCheckLeaks("everyMutatedFrameDecodesOrFailsWithAProtocolException");
    }

    @Property(tries = 1000, shrinking = ShrinkingMode.OFF)
    void randomBytesDecodeOrFailWithAProtocolException(@ForAll @Size(max = 200) byte[] body) {
        decodeOrProtocolException(body);
        countTryAndCheckLeaks("randomBytesDecodeOrFailWithAProtocolException");
    }

    // ------------------------------------------------------------------ whole pipelines

    /** What the endpoint saw; it releases data as an endpoint must. */
    static final class Seen implements Endpoint {
        final List<Message> messages = new CopyOnWriteArrayList<>();
        int opened;

        @Override
        public void onOpen(Connection c) {
            opened++;
        }

        @Override
        public void onMessage(Connection c, Message m) {
            messages.add(m);
            if (m instanceof DataMessage d) {
                d.data().release();
            }
        }
    }

    static EmbeddedChannel server(Secret secret, Endpoint endpoint) {
        EmbeddedChannel ch = new EmbeddedChannel(false, false);
        Pipelines.initServer(ch, new Pipelines.ServerSpec("fuzz", secret, 1 << 20, () -> 1, new AtomicLong()::incrementAndGet),
                endpoint, new RefusalLog(TimeUnit.MINUTES.toNanos(1), 3));
        try {
            ch.register(); // active now: the handshake sends its challenge
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        return ch;
    }

    /**
     * Frames of the given bodies, length-prefixed, cut into random pieces as TCP might deliver them.
     * With {@code lie}, some frames after the first announce a wrong length.
     */
    static List<ByteBuf> stream(List<byte[]> bodies, Random random, boolean lie) {
        ByteBuf all = Unpooled.buffer();
        for (int i = 0; i < bodies.size(); i++) {
            byte[] b = bodies.get(i);
            all.writeInt(lie && i > 0 && random.nextInt(4) == 0 ? random.nextInt() : b.length);
            all.writeBytes(b);
        }
        List<ByteBuf> pieces = new ArrayList<>();
        while (all.isReadable()) {
            int n = Math.min(all.readableBytes(), 1 + random.nextInt(64));
            ByteBuf piece = PooledByteBufAllocator.DEFAULT.directBuffer(n);
            all.readBytes(piece, n);
            pieces.add(piece);
        }
        all.release();
        return pieces;
    }

    static void feed(EmbeddedChannel ch, List<ByteBuf> pieces) {
        for (ByteBuf piece : pieces) {
            if (!ch.isOpen()) {
                piece.release();
                continue;
            }
            ch.writeInbound(piece);
        }
        ch.checkException(); // nothing escaped a handler
        for (Object out; (out = ch.readOutbound()) != null; ) {
            io.netty.util.ReferenceCountUtil.release(out);
        }
    }

    @Property(tries = 300, shrinking = ShrinkingMode.OFF)
    void beforeAuthenticationNothingIsDecodedOrDeliveredWhateverArrives(
            @ForAll @IntRange(min = 0, max = 999) int which, @ForAll long seed) {
        Random random = new Random(seed);
        List<byte[]> bodies = new ArrayList<>();
        for (int i = 0, n = 1 + random.nextInt(4); i < n; i++) {
            bodies.add(random.nextBoolean() ? mutated((which + i) % BODIES.size(), random.nextLong())
                    : BODIES.get((which + i) % BODIES.size()));
        }
        Seen seen = new Seen();
        int before = Pipelines.unauthenticatedConnections();
        EmbeddedChannel ch = server(Secret.of("fuzz-secret"), seen);
        List<ByteBuf> pieces = stream(bodies, random, random.nextBoolean());
        feed(ch, pieces);
        assertThat(seen.opened).isZero();
        assertThat(seen.messages).isEmpty();
        ch.finishAndReleaseAll();
        assertThat(pieces).allSatisfy(p -> assertThat(p.refCnt()).as("input released").isZero());
        assertThat(Pipelines.unauthenticatedConnections()).isEqualTo(before);
        countTryAndCheckLeaks("beforeAuthenticationNothingIsDecodedOrDeliveredWhateverArrives");
    }

    @Property(tries = 300, shrinking = ShrinkingMode.OFF)
    void afterAuthenticationBadFramesCloseTheConnectionAndLeakNothing(
            @ForAll @IntRange(min = 0, max = 999) int which, @ForAll long seed) {
        Random random = new Random(seed);
        List<byte[]> bodies = new ArrayList<>();
        bodies.add(body(new Hello(Role.CLIENT, "fuzz", 0, new byte[0], new byte[0]))); // no secret: welcomed
        for (int i = 0, n = 1 + random.nextInt(6); i < n; i++) {
            bodies.add(random.nextInt(3) == 0 ? mutated((which + i) % BODIES.size(), random.nextLong())
                    : BODIES.get((which + i) % BODIES.size()));
        }
        Seen seen = new Seen();
        EmbeddedChannel ch = server(Secret.NONE, seen);
        boolean lie = random.nextBoolean();
        List<ByteBuf> pieces = stream(bodies, random, lie);
        feed(ch, pieces);
        assertThat(seen.opened).as("the hello is welcomed").isEqualTo(1);
        if (!lie) {
            // Each frame is delivered or, the first time one is bad, the connection closes.
            assertThat(seen.messages.size() == bodies.size() - 1 || !ch.isOpen())
                    .as("%s delivered of %s frames, channel open", seen.messages.size(), bodies.size() - 1).isTrue();
        }
        ch.finishAndReleaseAll();
        assertThat(pieces).allSatisfy(p -> assertThat(p.refCnt()).as("input released").isZero());
        countTryAndCheckLeaks("afterAuthenticationBadFramesCloseTheConnectionAndLeakNothing");
    }

    /** The check above would be worth nothing if it could not see a leak: here one buffer is never released. */
    @net.jqwik.api.Example
    void theLeakCheckSeesABufferThatWasNeverReleased() {
        TestingLeakDetector.forgetEarlierLeaks();
        TestingLeakDetector.quietly(() -> {
            leakOne();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> TestingLeakDetector.assertNoLeaks("leakOne"))
                    .hasMessageContaining("buffer leak(s) reported").hasMessageContaining("leakOne");
        });
    }

    private static void leakOne() {
        ByteBuf leaked = PooledByteBufAllocator.DEFAULT.directBuffer(16);
        leaked.writeLong(42); // touched, never released; unreachable once this returns
    }
}
