package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.ClusterUnavailableException;
import io.quiver.InsufficientMemoryException;
import io.quiver.NotSerializableException;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.TaskFailedException;
import io.quiver.local.LocalCluster;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** API.md section 4, each error on a real cluster, and the cluster keeps working after each. */
class ErrorsTest {
    static LocalCluster cluster;
    static Quiver q;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(64L << 20));
        q = cluster.connect();
    }

    @AfterAll
    static void stop() {
        q.close();
        cluster.close();
    }

    static void clusterStillWorks() {
        assertThat(q.submit(() -> 41 + 1).result(Duration.ofSeconds(30))).isEqualTo(42);
    }

    static int explode(int x) {
        throw new IllegalStateException("bad input " + x);
    }

    @Test
    void aThrowingTaskGivesTaskFailedExceptionWithTheRemoteDetails() {
        Ref<Integer> r = q.submit(() -> explode(7));
        assertThatThrownBy(r::result).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.remoteType()).isEqualTo("java.lang.IllegalStateException");
            assertThat(e.getMessage()).contains("java.lang.IllegalStateException").contains("bad input 7");
            assertThat(e.remoteStackTrace()).contains("explode");
            assertThat(e.executorId()).isIn(cluster.executorIds());
            assertThat(e.taskId()).isEqualTo(r.id().toString());
            assertThat(e.attempts()).isEqualTo(1);
            // The cause is the remote exception itself, so an ordinary trace shows the user's line.
            assertThat(e.getCause()).isExactlyInstanceOf(IllegalStateException.class).hasMessage("bad input 7");
            assertThat(e.getCause().getStackTrace()).anySatisfy(f -> {
                assertThat(f.getClassName()).isEqualTo(ErrorsTest.class.getName());
                assertThat(f.getMethodName()).isEqualTo("explode");
                assertThat(f.getLineNumber()).isPositive();
            });
        });
        assertThat(r.isDone()).isTrue();
        // Dependants fail with the same cause.
        Ref<Integer> after = q.submit(x -> x + 1, r);
        assertThatThrownBy(after::result).isInstanceOf(TaskFailedException.class).hasMessageContaining("bad input 7");
        clusterStillWorks();
    }

    static final class NotSerializableThing {
        int value = 3;
    }

    @Test
    void anUnserializableLambdaFailsAtSubmitNamingTheClass() {
        NotSerializableThing thing = new NotSerializableThing();
        assertThatThrownBy(() -> q.submit(() -> thing.value))
                .isInstanceOfSatisfying(NotSerializableException.class, e -> {
                    assertThat(e.offendingClass()).isEqualTo(NotSerializableThing.class.getName());
                    assertThat(e.getMessage()).contains(NotSerializableThing.class.getName()).contains("captured arg");
                });
        assertThatThrownBy(() -> q.scatter(new NotSerializableThing()))
                .isInstanceOf(NotSerializableException.class).hasMessageContaining("NotSerializableThing");
        assertThatThrownBy(() -> q.map(x -> thing.value + (int) x, List.of(1)))
                .isInstanceOf(NotSerializableException.class);
        clusterStillWorks();
    }

    @Test
    void aBroadcastThatDoesNotFitIsRefusedBeforeAnyByteMoves() {
        assertThatThrownBy(() -> q.scatter(new byte[100 << 20], Scatter.broadcast()))
                .isInstanceOfSatisfying(InsufficientMemoryException.class, e -> {
                    assertThat(e.executorId()).isIn(cluster.executorIds());
                    assertThat(e.requestedBytes()).isGreaterThanOrEqualTo(100L << 20);
                    assertThat(e.freeBytes()).isLessThan(e.requestedBytes());
                    assertThat(e.getMessage()).contains(e.executorId()).contains("--memory");
                });
        assertThat(q.cluster().executors()).allSatisfy(x -> assertThat(x.memoryUsed()).isLessThan(10L << 20));
        clusterStillWorks();
    }

    @Test
    void badArgumentsAreRejectedWithTheirFix() {
        assertThatThrownBy(() -> q.scatter(1, Scatter.on("no-such-executor")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-executor");
        assertThatThrownBy(() -> q.scatter(1, Scatter.replicas(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only 2");
        assertThatThrownBy(() -> Scatter.replicas(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> q.submit(null)).isInstanceOf(NullPointerException.class);
        Ref<Integer> closed = q.scatter(1);
        closed.close();
        assertThatThrownBy(() -> q.submit(x -> x, closed)).isInstanceOf(QuiverException.class).hasMessageContaining("closed");
        try (Quiver other = cluster.connect()) {
            Ref<Integer> foreign = other.scatter(5);
            assertThatThrownBy(() -> q.submit(x -> x, foreign))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different Quiver");
        }
        clusterStillWorks();
    }

    @Test
    void aClassMissingOnTheExecutorsFailsTheTaskNamingTheClassAndTheFix(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        // A class only the client can load, as if it came from a jar the executors were not given.
        java.nio.file.Path source = dir.resolve("OnlyOnTheClient.java");
        java.nio.file.Files.writeString(source,
                "public class OnlyOnTheClient implements java.io.Serializable { public int value = 41; }");
        javax.tools.JavaCompiler javac = javax.tools.ToolProvider.getSystemJavaCompiler();
        assertThat(javac.run(null, null, null, "-d", dir.toString(), source.toString())).isZero();
        try (java.net.URLClassLoader clientOnly = new java.net.URLClassLoader(new java.net.URL[] {dir.toUri().toURL()},
                getClass().getClassLoader())) {
            Object value = clientOnly.loadClass("OnlyOnTheClient").getConstructor().newInstance();
            Ref<Object> ref = q.scatter(value);
            assertThatThrownBy(() -> q.submit(x -> x.hashCode(), ref).result(Duration.ofSeconds(30)))
                    .isInstanceOf(TaskFailedException.class)
                    .hasMessageContaining("OnlyOnTheClient")
                    .hasMessageContaining("--classpath");
        }
        clusterStillWorks();
    }

    @Test
    void aResultTimeoutIsAQuiverExceptionCausedByTimeoutException() {
        Ref<Integer> slow = q.submit(() -> {
            Thread.sleep(3_000);
            return 1;
        });
        assertThatThrownBy(() -> slow.result(Duration.ofMillis(50)))
                .isInstanceOf(QuiverException.class).hasCauseInstanceOf(TimeoutException.class);
        assertThat(slow.result()).isEqualTo(1);
    }

    @Test
    void noLeaderWithinTheTimeoutIsClusterUnavailable() throws Exception {
        try (TestingServer emptyZk = new TestingServer(true)) {
            String url = "zk://" + emptyZk.getConnectString() + "/nothing-here";
            System.setProperty("quiver.connectTimeoutMs", "1500");
            try {
                assertThatThrownBy(() -> Quiver.connect(url))
                        .isInstanceOf(ClusterUnavailableException.class)
                        .hasMessageContaining("no leader").hasMessageContaining(url);
            } finally {
                System.clearProperty("quiver.connectTimeoutMs");
            }
        }
    }

    @Test
    void malformedUrlsAreRejectedClearly() {
        assertThatThrownBy(() -> Quiver.connect("http://x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("zk://");
        assertThatThrownBy(() -> Quiver.connect("zk://nohostport/x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> Quiver.connect("local[0]")).isInstanceOf(IllegalArgumentException.class);
    }
}
