package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.SliceFetch;
import io.quiver.core.protocol.Message.SliceFetch.Slice;
import io.quiver.core.protocol.Message.TaskResult;
import io.quiver.core.protocol.Message.Role;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.nio.charset.StandardCharsets;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DataPlaneTest extends ClusterTestBase {
    private static final long EPOCH = 1;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aPutForwardedDownAChainIsStoredAndVerifiedByEveryExecutor() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-a", 1);
        Executor b = startExecutor("exec-b", 1);
        Executor c = startExecutor("exec-c", 1);
        leader.awaitExecutor("exec-a");
        leader.awaitExecutor("exec-b");
        leader.awaitExecutor("exec-c");
        RefId ref = ref();
        byte[] block = random((48 << 20) + 12345, 1); // far past the write buffer's high water mark
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(ref, block, List.of(peer(b), peer(c)));
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> leader.storedOn(ref).containsAll(List.of("exec-a", "exec-b", "exec-c")));
            assertThat(leader.blockFailures).isEmpty();
            assertThat(leader.stored).filteredOn(s -> s.block().ref().equals(ref))
                    .allSatisfy(s -> assertThat(s.block().size()).isEqualTo(block.length));
        }
        for (Executor e : List.of(a, b, c)) {
            assertThat(e.stats().memoryUsed()).isEqualTo(block.length);
            try (TestingClient client = new TestingClient(e.port())) {
                assertThat(client.fetch(ref).get(30, TimeUnit.SECONDS)).isEqualTo(block);
            }
        }
    }

    @Test
    void aChecksumMismatchIsReportedAndNothingIsStored() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-a", 1);
        Executor b = startExecutor("exec-b", 1);
        leader.awaitExecutor("exec-a");
        leader.awaitExecutor("exec-b");
        RefId ref = ref();
        byte[] block = random(3 << 20, 2);
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(ref, block, List.of(peer(b)), TestingClient.crc(block) ^ 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.blockFailures.size() == 2);
        }
        assertThat(leader.blockFailures).extracting(TestingLeader.Failed::executorId)
                .containsExactlyInAnyOrder("exec-a", "exec-b");
        assertThat(leader.blockFailures).allSatisfy(f -> {
            assertThat(f.failure().ref()).isEqualTo(ref);
            assertThat(f.failure().reason()).contains("checksum mismatch");
        });
        assertThat(leader.storedOn(ref)).isEmpty();
        assertThat(a.store().contains(ref)).isFalse();
        assertThat(b.store().contains(ref)).isFalse();
        assertThat(a.stats().memoryUsed()).isZero();
    }

    @Test
    void aChainWhoseNextExecutorIsUnreachableIsReportedAndStoredUpToThere() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-a", 1);
        leader.awaitExecutor("exec-a");
        int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        RefId ref = ref();
        byte[] block = random((2 << 20) + 7, 4);
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(ref, block, List.of(new io.quiver.core.protocol.Message.Peer("exec-gone", "127.0.0.1", deadPort)));
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(ref).contains("exec-a")
                    && !leader.blockFailures.isEmpty());
        }
        assertThat(leader.blockFailures).hasSize(1).first().satisfies(f -> {
            assertThat(f.executorId()).isEqualTo("exec-a");
            assertThat(f.failure().ref()).isEqualTo(ref);
            assertThat(f.failure().reason()).contains("could not forward").contains("exec-gone");
        });
        try (TestingClient client = new TestingClient(a.port())) {
            assertThat(client.fetch(ref).get(10, TimeUnit.SECONDS)).isEqualTo(block);
        }
    }

    @Test
    void fetchingAnUnknownBlockFails() throws Exception {
        Executor a = startExecutor("exec-a", 1);
        RefId ref = ref();
        try (TestingClient client = new TestingClient(a.port())) {
            assertThatThrownBy(() -> client.fetch(ref).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasMessageContaining("block " + ref + " is not on executor exec-a");
        }
    }

    @Test
    void oneSliceFetchServesManyBucketsAndMalformedOnesAreRefusedWithAReason() throws Exception {
        Executor a = startExecutor("exec-a", 1);
        RefId map = ref();
        RefId other = ref();
        Object[] buckets = {new Object[] {"b0"}, null, new io.quiver.core.plan.KeyedBucket(new Object[] {7L, 8L},
                new Object[] {"x", "y"})};
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(map, encode(io.quiver.core.plan.ShuffleOutput.of(0, buckets, new int[] {1, 0, 2})), List.of());
            client.put(other, encode("not a map output"), List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> a.store().contains(map) && a.store().contains(other));

            // One request, three slices (one empty), answered in request order.
            byte[] stream = client.fetchSlices(List.of(new Slice(map, 2), new Slice(map, 1), new Slice(map, 0)))
                    .get(10, TimeUnit.SECONDS);
            io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(stream);
            List<Object> got = new java.util.ArrayList<>();
            int at = 0;
            for (int b : new int[] {2, 1, 0}) {
                int len = io.quiver.core.codec.ShuffleBlocks.entryLength(buf, at);
                got.add(io.quiver.core.codec.ShuffleBlocks.decodeEntry(buf.slice(at, len), getClass().getClassLoader())
                        .bucket(b));
                at += len;
            }
            assertThat(at).isEqualTo(stream.length);
            assertThat(((io.quiver.core.plan.KeyedBucket) got.get(0)).keys()).containsExactly(7L, 8L);
            assertThat(got.get(1)).isNull();
            assertThat((Object[]) got.get(2)).containsExactly("b0");

            RefId unknown = ref();
            assertThatThrownBy(() -> client.fetchSlices(List.of(new Slice(map, 0), new Slice(unknown, 0)))
                    .get(10, TimeUnit.SECONDS)).hasMessageContaining("block " + unknown + " is not on executor exec-a");
            assertThatThrownBy(() -> client.fetchSlices(List.of(new Slice(map, 3))).get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("bucket 3 is out of range: the map output has 3 buckets");
            assertThatThrownBy(() -> client.fetchSlices(List.of(new Slice(other, 0))).get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("not a shuffle map output");
            List<Slice> tooMany = java.util.Collections.nCopies(SliceFetch.MAX_SLICES + 1, new Slice(map, 0));
            assertThatThrownBy(() -> client.fetchSlices(tooMany).get(30, TimeUnit.SECONDS))
                    .hasMessageContaining("more than the " + SliceFetch.MAX_SLICES + " one request may ask for");
            assertThatThrownBy(() -> client.fetchSlices(List.of()).get(10, TimeUnit.SECONDS))
                    .hasMessageContaining("asks for no slices");

            // None of that closed the connection or hurt the executor: it still serves.
            assertThat(client.isOpen()).isTrue();
            assertThat(client.fetch(other).get(10, TimeUnit.SECONDS)).isEqualTo(encode("not a map output"));
        }
    }

    @Test
    void emptyAndSmallBlocksRoundTrip() throws Exception {
        Executor a = startExecutor("exec-a", 1);
        RefId empty = ref();
        RefId small = ref();
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(empty, new byte[0], List.of());
            client.put(small, new byte[] {1, 2, 3}, List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> a.store().contains(empty) && a.store().contains(small));
            assertThat(client.fetch(empty).get(10, TimeUnit.SECONDS)).isEmpty();
            assertThat(client.fetch(small).get(10, TimeUnit.SECONDS)).containsExactly(1, 2, 3);
        }
    }

    @Test
    void spilledBlocksAreServedAndReadByTasks() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor(config("exec-spill", 1, 3 << 20));
        leader.awaitExecutor("exec-spill");
        RefId[] refs = new RefId[4];
        double[][] values = new double[4][];
        try (TestingClient client = new TestingClient(a.port())) {
            for (int i = 0; i < 4; i++) {
                refs[i] = ref();
                values[i] = new double[150_000]; // 1.2 MB each: four do not fit in 3 MiB
                java.util.Arrays.fill(values[i], i);
                client.put(refs[i], encode(values[i]), List.of());
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> a.stats().blocks() == 4
                    && a.stats().memoryUsed() <= (3 << 20));
            assertThat(a.stats().spills()).isPositive();
            for (int i = 0; i < 4; i++) {
                assertThat(client.fetch(refs[i]).get(10, TimeUnit.SECONDS)).isEqualTo(encode(values[i]));
            }
        }
        RefId out = ref();
        leader.send("exec-spill", launch(EPOCH, List.of(fn(1, new Fns.SumPlus())),
                List.of(task(out, 1, Arg.ref(refs[0]), value(0)))));
        TaskResult r = leader.awaitResult(out);
        assertThat(r.failure()).isNull();
        assertThat(decode(r.inline())).isEqualTo(0.0);
    }

    @Test
    void blocksLargerThanTheFreeMemoryAreReceivedStraightToDiskAndForwarded() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        long limit = 8 << 20;
        Executor a = startExecutor(config("exec-small", 1, limit));
        Executor b = startExecutor("exec-big", 1);
        leader.awaitExecutor("exec-small");
        leader.awaitExecutor("exec-big");
        RefId[] refs = {ref(), ref()};
        byte[][] blocks = {random((40 << 20) + 7, 11), random((24 << 20) + 3, 12)}; // each far over 8 MiB
        java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peak.accumulateAndGet(a.stats().memoryUsed(), Math::max);
                Thread.onSpinWait();
            }
        });
        sampler.start();
        try (TestingClient client = new TestingClient(a.port())) {
            for (int i = 0; i < 2; i++) {
                client.put(refs[i], blocks[i], List.of(peer(b)));
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> leader.storedOn(refs[0]).contains("exec-small")
                    && leader.storedOn(refs[1]).containsAll(List.of("exec-small", "exec-big")));
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        assertThat(leader.blockFailures).isEmpty();
        assertThat(peak.get()).as("memory used by the small executor while 64 MiB arrived").isLessThanOrEqualTo(limit);
        assertThat(a.stats().blocks()).isEqualTo(2);
        for (int i = 0; i < 2; i++) {
            try (TestingClient client = new TestingClient(a.port())) {
                assertThat(client.fetch(refs[i]).get(30, TimeUnit.SECONDS)).isEqualTo(blocks[i]);
            }
            try (TestingClient client = new TestingClient(b.port())) {
                assertThat(client.fetch(refs[i]).get(30, TimeUnit.SECONDS)).isEqualTo(blocks[i]);
            }
        }
    }

    @Test
    void slicesOfSpilledMapOutputsAreReadBackAndServed() throws Exception {
        Executor a = startExecutor(config("exec-spill-slices", 1, 3 << 20));
        RefId[] refs = new RefId[4];
        try (TestingClient client = new TestingClient(a.port())) {
            for (int i = 0; i < 4; i++) {
                refs[i] = ref();
                Object[] rows = new Object[75_000]; // two buckets of 600 KB: four outputs do not fit in 3 MiB
                java.util.Arrays.fill(rows, (long) i);
                client.put(refs[i], encode(io.quiver.core.plan.ShuffleOutput.of(0, new Object[] {rows, rows.clone()},
                        new int[] {rows.length, rows.length})), List.of());
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> a.stats().blocks() == 4
                    && a.stats().memoryUsed() <= (3 << 20));
            assertThat(a.stats().spills()).isPositive();
            List<Slice> all = new java.util.ArrayList<>();
            for (RefId r : refs) {
                all.add(new Slice(r, 1));
            }
            io.netty.buffer.ByteBuf buf = io.netty.buffer.Unpooled.wrappedBuffer(
                    client.fetchSlices(all).get(30, TimeUnit.SECONDS));
            int at = 0;
            for (int i = 0; i < 4; i++) {
                int len = io.quiver.core.codec.ShuffleBlocks.entryLength(buf, at);
                Object[] rows = (Object[]) io.quiver.core.codec.ShuffleBlocks.decodeEntry(buf.slice(at, len),
                        getClass().getClassLoader()).bucket(1);
                assertThat(rows).hasSize(75_000).containsOnly((long) i);
                at += len;
            }
            assertThat(at).isEqualTo(buf.readableBytes());
        }
    }

    @Test
    void garbageOnTheDataPortClosesOnlyThatConnection() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-g", 1);
        leader.awaitExecutor("exec-g");
        RefId block = ref();
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(block, new byte[] {9, 9}, List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> a.store().contains(block));
        }
        Fns.Blocking.started = new CountDownLatch(1);
        Fns.Blocking.release = new CountDownLatch(1);
        RefId running = ref();
        leader.send("exec-g", launch(EPOCH, List.of(fn(1, new Fns.Blocking())), List.of(task(running, 1, value(0)))));
        assertThat(Fns.Blocking.started.await(10, TimeUnit.SECONDS)).isTrue();

        // Garbage instead of a hello, an oversized frame, a negative length, and after a real
        // handshake an unknown message type: each closes its own connection only.
        byte[] notHello = random(104, 3);
        notHello[0] = 0;
        notHello[1] = 0;
        notHello[2] = 0;
        notHello[3] = 100;
        notHello[4] = 77;
        rawSession(a.port(), false, notHello);
        rawSession(a.port(), false, new byte[] {0x7f, -1, -1, -1, 1, 2, 3});
        rawSession(a.port(), false, new byte[] {-1, -1, -1, -2, 1, 2, 3});
        rawSession(a.port(), true, new byte[] {0, 0, 0, 1, 99});
        rawSession(a.port(), true, new byte[] {0, 0, 0, 3, 51, 1, 2}); // a truncated Fetch
        try (TestingClient client = new TestingClient(a.port())) {
            assertThat(client.fetch(block).get(10, TimeUnit.SECONDS)).containsExactly(9, 9);
        }
        assertThat(leader.results).isEmpty();
        Fns.Blocking.release.countDown();
        assertThat(decode(leader.awaitResult(running).inline())).isEqualTo("exec-g");
    }

    /** Sends {@code junk} (after a real handshake if asked) and waits for the executor to close. */
    private static void rawSession(int port, boolean handshake, byte[] junk) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            if (handshake) {
                in.readFully(new byte[in.readInt()]); // Challenge
                byte[] id = "raw".getBytes(StandardCharsets.UTF_8);
                out.writeInt(1 + 1 + 4 + id.length + 8 + 4 + 4);
                out.writeByte(2); // Hello
                out.writeByte(Role.CLIENT.code);
                out.writeInt(id.length);
                out.write(id);
                out.writeLong(0);
                out.writeInt(0); // empty nonce and
                out.writeInt(0); // empty mac: no secret
                out.flush();
                byte[] welcome = new byte[in.readInt()];
                in.readFully(welcome);
                assertThat(welcome[0]).as("Welcome").isEqualTo((byte) 3);
            }
            out.write(junk);
            out.flush();
            while (in.read() != -1) {
                // whatever the server says before it closes
            }
        }
    }

    @Test
    void aLaunchOnTheDataPortIsNotRun() throws Exception {
        Executor a = startExecutor("exec-l", 1);
        RefId out = ref();
        try (TestingClient client = new TestingClient(a.port())) {
            client.sendRaw(launch(99, List.of(fn(1, new Fns.AddOne())), List.of(task(out, 1, value(1)))));
            await().atMost(Duration.ofSeconds(10)).until(() -> !client.isOpen());
        }
        assertThat(a.stats().tasksRun()).isZero();
    }
}
