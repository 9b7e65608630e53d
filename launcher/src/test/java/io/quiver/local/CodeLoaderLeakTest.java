package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.ConnectOptions;
import io.quiver.Fn1;
import io.quiver.Quiver;
import io.quiver.Ref;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client's class loader on an executor goes with the client: after many connect/close cycles,
 * each shipping a jar the executor lacks and running a function and a value of its classes there,
 * every such loader is collected. In-process, so the test can hold weak references to them.
 *
 * <p>The value class is Java-serialized: values that Fory encodes leave a few of the dropped loaders
 * reachable through Fory's JVM-wide caches (a known limit, see ForyValues). Set
 * {@code -Dleak.dump=/path.hprof} to get a heap dump when the test fails.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CodeLoaderLeakTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int CYCLES = 50;

    @TempDir
    Path tmp;

    @Test
    void loadersOfClosedClientsAreCollected() throws Exception {
        Path jar = TestingJars.compile(tmp, "leak", Map.of(
                "leak.Box", """
                        package leak;
                        public final class Box implements java.io.Serializable {
                            private static final long serialVersionUID = 1L;
                            public int value;
                            // A field of a non-public user type: Java serialization takes Box, not Fory,
                            // whose JVM-wide caches keep classes of a dropped loader reachable (see below).
                            final Tag tag = new Tag();
                            public Box() {}
                            public Box(int value) { this.value = value; }
                            @Override public String toString() { return "box " + value; }
                        }
                        """,
                "leak.Tag", """
                        package leak;
                        final class Tag implements java.io.Serializable {
                            private static final long serialVersionUID = 1L;
                        }
                        """,
                "leak.Probe", """
                        package leak;
                        public final class Probe implements io.quiver.Fn1<Box, Box> {
                            private static final long serialVersionUID = 1L;
                            public Box apply(Box in) {
                                io.quiver.local.LoaderProbe.record(getClass().getClassLoader());
                                return new Box(in.value + 1);
                            }
                        }
                        """));
        LoaderProbe.SEEN.clear();
        LoaderProbe.NAMES.clear();
        ConnectOptions options = ConnectOptions.defaults().shipClassPath(false).jars(List.of(jar));
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1))) {
            Thread thread = Thread.currentThread();
            ClassLoader context = thread.getContextClassLoader();
            for (int i = 0; i < CYCLES; i++) {
                // The client's own copy of the classes, so that it can make and read their values.
                try (URLClassLoader mine = new URLClassLoader(new URL[] {jar.toUri().toURL()}, context)) {
                    thread.setContextClassLoader(mine);
                    try (Quiver q = Quiver.connect(cluster.zkConnectString(), options)) {
                        @SuppressWarnings("unchecked")
                        Fn1<Object, Object> probe = (Fn1<Object, Object>) mine.loadClass("leak.Probe")
                                .getConstructor().newInstance();
                        Ref<Object> in = q.scatter(mine.loadClass("leak.Box").getConstructor(int.class).newInstance(i));
                        Object out = q.submit(probe, in).result(WAIT);
                        assertThat(out.getClass().getClassLoader()).isSameAs(mine);
                        assertThat(out).hasToString("box " + (i + 1));
                    } finally {
                        thread.setContextClassLoader(context);
                    }
                }
            }
            assertThat(LoaderProbe.SEEN).hasSize(CYCLES);
            assertThat(LoaderProbe.NAMES).allSatisfy(n -> assertThat(n).startsWith("quiver-client-"));
            assertThat(LoaderProbe.NAMES).doesNotHaveDuplicates(); // one loader per connection
            await().atMost(WAIT).until(() -> cluster.executor("exec-1").codeStats().ownLoaders() == 0);
            try {
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(() -> {
                    System.gc();
                    return LoaderProbe.alive() == 0;
                });
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                if (System.getProperty("leak.dump") != null) {
                    java.lang.management.ManagementFactory.getPlatformMXBean(
                            com.sun.management.HotSpotDiagnosticMXBean.class).dumpHeap(System.getProperty("leak.dump"), true);
                }
                StringBuilder threads = new StringBuilder();
                for (Thread t : Thread.getAllStackTraces().keySet()) {
                    ClassLoader l = t.getContextClassLoader();
                    if (l != null && l.getName() != null && l.getName().startsWith("quiver-client-")) {
                        threads.append(t.getName()).append(" -> ").append(l.getName()).append("; ");
                    }
                }
                throw new AssertionError("client loaders still reachable after " + WAIT + ": "
                        + LoaderProbe.describeAlive() + "; threads with one as context loader: " + threads, e);
            }
        }
    }
}
