package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.quiver.RefId;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.net.Secret;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.task.TaskFunction;
import io.quiver.core.zk.ClusterUrl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real ZooKeeper server per test class, a fresh cluster root per test, and tidy-up of every
 * executor, leader and client a test makes. Checks for Netty buffer leaks after the class.
 */
abstract class ClusterTestBase {
    private static final AtomicInteger ROOTS = new AtomicInteger();
    private static final AtomicLong SEQ = new AtomicLong();
    static TestingServer zkServer;

    @TempDir
    Path workDir;
    ClusterUrl cluster;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeAll
    static void startZooKeeper() throws Exception {
        zkServer = new TestingServer(true);
    }

    @AfterAll
    static void stopZooKeeper() throws Exception {
        zkServer.close();
        LeakRecorder.assertNoLeaks();
    }

    @BeforeEach
    void freshRoot() {
        cluster = ClusterUrl.parse("zk://" + zkServer.getConnectString() + "/test" + ROOTS.incrementAndGet());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        closeables.clear();
    }

    <T extends AutoCloseable> T closeLater(T c) {
        closeables.add(c);
        return c;
    }

    ExecutorConfig config(String id, int slots, long memory) {
        return config(id, slots, memory, ClusterTestBase.class.getClassLoader());
    }

    ExecutorConfig config(String id, int slots, long memory, ClassLoader loader) {
        try {
            Path dir = Files.createDirectories(workDir.resolve(id));
            return new ExecutorConfig(cluster, id, "127.0.0.1", 0, slots, memory, dir, Secret.NONE, loader);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Executor startExecutor(String id, int slots) {
        return startExecutor(config(id, slots, 256L << 20));
    }

    /**
     * Starts an executor and, as a client would on connect, offers it the code of owner 7 (whose refs
     * {@link #ref()} mints): no jars, so its tasks load through the executor's own loader.
     */
    Executor startExecutor(ExecutorConfig config) {
        Executor e = closeLater(new Executor(config));
        e.start();
        closeLater(new TestingClient(e.port())).offerNoCode(OWNER);
        return e;
    }

    static final long OWNER = 7;

    TestingLeader startLeader(String id, long epoch) throws Exception {
        return closeLater(new TestingLeader(cluster, id, epoch)).start();
    }

    static RefId ref() {
        return new RefId(7, SEQ.incrementAndGet());
    }

    static Peer peer(Executor e) {
        return new Peer(e.id(), "127.0.0.1", e.port());
    }

    static FnDef fn(long fnId, TaskFunction f) {
        return new FnDef(fnId, JavaSerialization.serialize(f, "a test function"), null);
    }

    static byte[] encode(Object value) {
        return DefaultCodec.INSTANCE.toBytes(value);
    }

    static Object decode(byte[] bytes) {
        return DefaultCodec.INSTANCE.fromBytes(bytes, ClusterTestBase.class.getClassLoader());
    }

    static Arg value(Object v) {
        return Arg.value(encode(v));
    }

    static TaskLaunch task(RefId out, long fnId, Arg... args) {
        return new TaskLaunch(List.of(out), fnId, List.of(args));
    }

    static Launch launch(long epoch, List<FnDef> fns, List<TaskLaunch> tasks) {
        return new Launch(epoch, fns, tasks);
    }

    /** Encodes into a pooled buffer, as a task output would be, and returns its bytes. */
    static byte[] encodeDirect(Object value) {
        ByteBuf buf = DefaultCodec.INSTANCE.encode(value, ByteBufAllocator.DEFAULT);
        try {
            byte[] out = new byte[buf.readableBytes()];
            buf.readBytes(out);
            return out;
        } finally {
            buf.release();
        }
    }

    static void assertSameValue(Object actual, Object expected) {
        assertThat(actual).isEqualTo(expected);
    }
}
