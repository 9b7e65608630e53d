package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.quiver.ConnectOptions;
import io.quiver.ExecutorInfo;
import io.quiver.Fn0;
import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.TaskFailedException;
import io.quiver.core.client.QuiverClient;
import io.quiver.core.code.CodeJars;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.CodeOffer;
import io.quiver.core.protocol.Message.CodeReady;
import io.quiver.core.protocol.Message.JarChunk;
import io.quiver.core.protocol.Message.JarInfo;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.io.Serializable;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Code as data on real child JVMs that have Quiver's class path only
 * ({@code separateProcesses(true).shipClassPath(true)}): this test class, its lambdas and its record
 * reach the executors only because the client ships them.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class CodeShippingIT {
    private static final Duration WAIT = Duration.ofSeconds(60);
    static LocalCluster cluster;

    @TempDir
    static Path tmp;

    /** A user-defined value class, not on the executors' class path. */
    public record Point(int x, int y) implements Serializable {
        Point plus(Point o) {
            return new Point(x + o.x, y + o.y);
        }
    }

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2).separateProcesses(true)
                .shipClassPath(true).executorMemory(64L << 20));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Quiver connect(ConnectOptions options) {
        return Quiver.connect(cluster.zkConnectString(), options);
    }

    @Test
    void theExecutorsReallyLackTheTestClasses() throws Exception {
        for (String id : cluster.executorIds()) {
            String cmd = String.join(" ", cluster.executorProcess(id).info().arguments().orElse(new String[0]));
            assertThat(cmd).doesNotContain("test-classes").doesNotContain("surefire");
        }
    }

    @Test
    void submitsAndUserValuesWork() {
        try (Quiver q = cluster.connect()) {
            assertThat(q.submit(() -> new Point(1, 2).plus(new Point(3, 4))).result(WAIT)).isEqualTo(new Point(4, 6));
            Ref<Point> scattered = q.scatter(new Point(10, 20), Scatter.broadcast());
            List<Ref<Point>> moved = q.map((Point p, Point base) -> p.plus(base),
                    List.of(new Point(1, 1), new Point(2, 2), new Point(3, 3)), scattered);
            assertThat(q.gather(moved)).containsExactly(new Point(11, 21), new Point(12, 22), new Point(13, 23));
            Ref<List<Point>> many = q.submit(base -> {
                List<Point> out = new ArrayList<>();
                for (int i = 0; i < 1000; i++) {
                    out.add(base.plus(new Point(i, -i)));
                }
                return out;
            }, scattered);
            assertThat(many.result(WAIT)).hasSize(1000).contains(new Point(10 + 999, 20 - 999));
        }
    }

    @Test
    void datasetJobsWork() {
        try (Quiver q = cluster.connect()) {
            List<String> lines = List.of("a b c", "b c", "c", "d e f a");
            Map<String, Integer> counts = q.parallelize(lines, 3)
                    .flatMap(line -> List.of(line.split(" ")))
                    .filter(w -> !w.equals("f"))
                    .map(w -> w.toUpperCase())
                    .mapToPair(w -> KV.of(w, 1))
                    .reduceByKey(Integer::sum)
                    .collectAsMap();
            assertThat(counts).isEqualTo(Map.of("A", 2, "B", 2, "C", 3, "D", 1, "E", 1));

            List<KV<Integer, KV<Point, String>>> joined = q.parallelize(List.of(1, 2, 3), 2)
                    .mapToPair(i -> KV.of(i, new Point(i, i * i)))
                    .join(q.parallelize(List.of("one", "two", "three", "four"), 2).keyBy(String::length))
                    .collect();
            assertThat(joined).containsExactlyInAnyOrder(KV.of(3, KV.of(new Point(3, 9), "one")),
                    KV.of(3, KV.of(new Point(3, 9), "two")));
        }
    }

    @Test
    void twoClientsWithTwoVersionsOfOneClassDoNotClash() throws Exception {
        Path v1 = TestingJars.compile(tmp, "answer-v1", TestingJars.versioned("v1"));
        Path v2 = TestingJars.compile(tmp, "answer-v2", TestingJars.versioned("v2"));
        try (URLClassLoader l1 = new URLClassLoader(new URL[] {v1.toUri().toURL()}, getClass().getClassLoader());
             URLClassLoader l2 = new URLClassLoader(new URL[] {v2.toUri().toURL()}, getClass().getClassLoader());
             Quiver q1 = connect(ConnectOptions.defaults().shipClassPath(false).jars(List.of(v1)));
             Quiver q2 = connect(ConnectOptions.defaults().shipClassPath(false).jars(List.of(v2)))) {
            Fn0<String> a1 = answer(l1);
            Fn0<String> a2 = answer(l2);
            List<Ref<String>> r1 = new ArrayList<>();
            List<Ref<String>> r2 = new ArrayList<>();
            for (int i = 0; i < 8; i++) { // interleaved, so both run on both executors
                r1.add(q1.submit(a1));
                r2.add(q2.submit(a2));
            }
            String id1 = ((QuiverClient) q1).clientId();
            String id2 = ((QuiverClient) q2).clientId();
            assertThat(q1.gather(r1)).allSatisfy(s -> assertThat(s).isEqualTo("v1 by quiver-client-" + id1));
            assertThat(q2.gather(r2)).allSatisfy(s -> assertThat(s).isEqualTo("v2 by quiver-client-" + id2));
        }
    }

    @SuppressWarnings("unchecked")
    private static Fn0<String> answer(ClassLoader loader) throws Exception {
        return (Fn0<String>) loader.loadClass("shipped.Answer").getConstructor().newInstance();
    }

    @Test
    void aReconnectingClientMovesNoBytes() throws Exception {
        Map<String, String> sources = TestingJars.versioned("fresh-" + UUID.randomUUID());
        Path jar = TestingJars.compile(tmp, "fresh", sources);
        long size = Files.size(jar);
        String sha = CodeJars.sha256(jar);
        ConnectOptions options = ConnectOptions.defaults().shipClassPath(false).jars(List.of(jar));
        try (Quiver q = connect(options)) {
            assertThat(((QuiverClient) q).codeBytesShipped()).isEqualTo(2 * size); // to each of 2 executors
        }
        for (String id : cluster.executorIds()) {
            assertThat(cluster.directory().resolve(id).resolve("jars").resolve(sha + ".jar")).hasSize(size);
        }
        try (URLClassLoader l = new URLClassLoader(new URL[] {jar.toUri().toURL()}, getClass().getClassLoader());
             Quiver again = connect(options)) {
            assertThat(((QuiverClient) again).codeBytesShipped()).isZero();
            assertThat(again.submit(answer(l)).result(WAIT)).startsWith(sources.get("shipped.Version")
                    .replaceAll("(?s).*return \"([^\"]+)\".*", "$1"));
        }
        // The whole class path too: the first connect of this JVM shipped the test classes, the next ships nothing.
        try (Quiver q = cluster.connect()) {
            assertThat(q.submit(() -> "warm").result(WAIT)).isEqualTo("warm");
        }
        try (Quiver q = cluster.connect()) {
            assertThat(((QuiverClient) q).codeBytesShipped()).isZero();
        }
    }

    @Test
    void aClassThatIsNotShippedFailsNamingItTheClientAndTheFix() {
        try (Quiver q = connect(ConnectOptions.defaults().shipClassPath(false))) {
            Ref<Integer> r = q.submit(() -> 42);
            assertThatThrownBy(() -> r.result(WAIT))
                    .isInstanceOf(TaskFailedException.class)
                    .hasMessageContaining(CodeShippingIT.class.getName())
                    .hasMessageContaining(((QuiverClient) q).clientId())
                    .hasMessageContaining("ConnectOptions.jars")
                    .hasMessageContaining("--classpath");
        }
    }

    @Test
    void malformedAndOversizedJarUploadsGetAClearErrorAndNoProcessDies() throws Exception {
        ExecutorInfo target;
        try (Quiver q = cluster.connect()) {
            target = q.cluster().executors().get(0);
        }
        Transport transport = new Transport("test-bad-peer", 1);
        try {
            // A jar over the limit (1 GiB by default) is refused before a byte moves.
            RawPeer p = new RawPeer(transport, target);
            p.send(new CodeOffer(1, "bad-peer", List.of(new JarInfo("a".repeat(64), 5L << 30, "huge.jar"))));
            assertThat(p.nextReady().error()).contains("huge.jar").contains("limit");

            // Bytes that do not hash to what was offered are refused, and nothing lands in the cache.
            String claimed = "b".repeat(64);
            p.send(new CodeOffer(2, "bad-peer", List.of(new JarInfo(claimed, 10, "liar.jar"))));
            p.awaitWant();
            p.send(new JarChunk(claimed, 10, 0, Unpooled.wrappedBuffer(new byte[10])));
            assertThat(p.nextReady().error()).contains("liar.jar").contains("SHA-256");
            assertThat(cluster.directory().resolve(target.id()).resolve("jars").resolve(claimed + ".jar")).doesNotExist();

            // A chunk nobody asked for.
            p.send(new JarChunk("c".repeat(64), 4, 0, Unpooled.wrappedBuffer(new byte[4])));
            assertThat(p.nextReady().error()).contains("CodeOffer");

            // A jar name that is not a SHA-256 (a path, say) is a protocol error: that connection closes.
            p.send(new JarChunk("../../evil", 4, 0, Unpooled.wrappedBuffer(new byte[4])));
            await().atMost(WAIT).until(() -> !p.connection.isOpen());

            // A frame over the 64 MiB limit: that connection closes too.
            RawPeer big = new RawPeer(transport, target);
            big.send(new JarChunk("d".repeat(64), 65L << 20, 0, Unpooled.wrappedBuffer(new byte[65 << 20])));
            await().atMost(WAIT).until(() -> !big.connection.isOpen());
        } finally {
            transport.close();
        }
        assertThat(cluster.executorProcess(target.id()).isAlive()).isTrue();
        try (Quiver q = cluster.connect()) {
            assertThat(q.gather(q.map(x -> x * 2, List.of(1, 2, 3, 4)))).containsExactly(2, 4, 6, 8);
            assertThat(q.cluster().executors()).hasSize(2);
        }
    }

    /** A peer on an executor's data port that sends whatever it is told. */
    private static final class RawPeer implements Endpoint {
        final LinkedBlockingQueue<Message> replies = new LinkedBlockingQueue<>();
        final Connection connection;

        RawPeer(Transport transport, ExecutorInfo e) {
            connection = Pipelines.connect(transport, e.host(), e.port(), Secret.NONE, Role.CLIENT, "bad-peer", 0,
                    MessageCodec.DEFAULT_MAX_FRAME, 5_000, this);
        }

        void send(Message m) {
            connection.sendNow(m);
        }

        CodeReady nextReady() throws InterruptedException {
            while (true) {
                Message m = replies.poll(60, TimeUnit.SECONDS);
                assertThat(m).as("a reply from the executor").isNotNull();
                if (m instanceof CodeReady r) {
                    return r;
                }
            }
        }

        void awaitWant() throws InterruptedException {
            Message m = replies.poll(60, TimeUnit.SECONDS);
            assertThat(m).isInstanceOf(Message.CodeWant.class);
        }

        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof Message.DataMessage d) {
                d.data().release();
            }
            replies.add(m);
        }
    }
}
