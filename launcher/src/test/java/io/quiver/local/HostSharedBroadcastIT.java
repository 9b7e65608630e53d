package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.metrics.PrometheusText;
import io.quiver.core.metrics.PrometheusText.Scrape;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broadcast to child-JVM executors on the client's host: one copy in the host's shared memory,
 * mapped by every executor, no byte of it on a socket; and the chained stream when the executors
 * cannot see the client's copy. Counted from each executor's own {@code /metrics}.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class HostSharedBroadcastIT {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final int N = 2 << 20; // 16 MiB of doubles

    @TempDir
    Path shm;
    private final List<String[]> restore = new ArrayList<>();

    @BeforeEach
    void sharedDirectoryOfThisTest() {
        set("quiver.shm.dir", shm.toString());
    }

    @AfterEach
    void restoreProperties() {
        for (String[] p : restore) {
            if (p[1] == null) {
                System.clearProperty(p[0]);
            } else {
                System.setProperty(p[0], p[1]);
            }
        }
    }

    @Test
    void executorsOnTheClientsHostMapOneCopyAndReceiveNoneOfItsBytes() throws Exception {
        double[] data = data();
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(3).separateProcesses(true)
                        .executorMemory(64L << 20));
                Quiver q = cluster.connect();
                CuratorFramework zk = Zk.start(ClusterUrl.parse(cluster.zkConnectString()), 10_000)) {
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            long size = pinned.sizeBytes();
            assertThat(pinned.locations()).containsExactlyInAnyOrder("exec-1", "exec-2", "exec-3");
            assertThat(blocksIn(shm)).as("one copy for the host: the client's file and a link per executor mapping it")
                    .hasSize(4);

            for (String id : cluster.executorIds()) {
                Scrape m = metrics(zk, id);
                assertThat(m.value("quiver_executor_data_shared_bytes_total", "executor", id)).isEqualTo(size);
                assertThat(m.value("quiver_executor_data_received_bytes_total", "executor", id))
                        .as("none of the block's bytes came over a socket").isLessThan(size / 100);
            }
            assertThat(sumsOver(q, pinned)).isEqualTo(sums(data));

            // Released: the executors unmap it, and their memory is theirs again; the client keeps its file.
            pinned.close();
            for (String id : cluster.executorIds()) {
                await().atMost(Duration.ofSeconds(30)).until(() -> metrics(zk, id)
                        .value("quiver_executor_memory_used_bytes", "executor", id) < size);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> blocksIn(shm).size() == 1);
            Path kept = blocksIn(shm).get(0);

            // The next broadcast of that size writes the same file again, under a new name.
            Ref<double[]> second = q.scatter(data, Scatter.broadcast());
            assertThat(blocksIn(shm)).hasSize(4).doesNotContain(kept);
            assertThat(sumsOver(q, second)).isEqualTo(sums(data));

            // An executor killed with the mapping open takes only its own copy with it.
            cluster.killExecutor("exec-1");
            assertThat(q.submit(d -> d.length, second).result(Duration.ofSeconds(60))).isEqualTo(N);
        }
        assertThat(blocksIn(shm)).as("the client deleted its file on close; only the killed executor's link is"
                + " left, for a later client's sweep").hasSize(1);
    }

    @Test
    void executorsThatCannotSeeTheClientsCopyGetTheBlockStreamedDownTheChain() throws Exception {
        set(LocalCluster.CHILD_JVM_ARGS_PROPERTY, "-Dquiver.shm.dir=none");
        double[] data = data();
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).separateProcesses(true)
                        .executorMemory(64L << 20));
                Quiver q = cluster.connect();
                CuratorFramework zk = Zk.start(ClusterUrl.parse(cluster.zkConnectString()), 10_000)) {
            Ref<double[]> pinned = q.scatter(data, Scatter.broadcast());
            long size = pinned.sizeBytes();
            for (String id : cluster.executorIds()) {
                Scrape m = metrics(zk, id);
                assertThat(m.value("quiver_executor_data_shared_bytes_total", "executor", id)).isZero();
                assertThat(m.value("quiver_executor_data_received_bytes_total", "executor", id))
                        .isGreaterThanOrEqualTo(size);
            }
            assertThat(blocksIn(shm)).as("no copy was written for executors that cannot map it").isEmpty();
            assertThat(sumsOver(q, pinned)).isEqualTo(sums(data));
        }
    }

    private void set(String key, String value) {
        restore.add(new String[] {key, System.getProperty(key)});
        System.setProperty(key, value);
    }

    private static double[] data() {
        double[] d = new double[N];
        for (int i = 0; i < d.length; i++) {
            d[i] = (i % 1000) * 0.5;
        }
        return d;
    }

    private static List<Double> sumsOver(Quiver q, Ref<double[]> pinned) {
        List<Ref<Double>> refs = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            int slice = k;
            refs.add(q.submit(d -> sliceSum(d, slice), pinned));
        }
        return q.gather(refs);
    }

    private static List<Double> sums(double[] d) {
        List<Double> out = new ArrayList<>();
        for (int k = 0; k < 8; k++) {
            out.add(sliceSum(d, k));
        }
        return out;
    }

    private static double sliceSum(double[] d, int k) {
        double s = 0;
        for (int i = k * (d.length / 8); i < (k + 1) * (d.length / 8); i++) {
            s += d[i];
        }
        return s;
    }

    private static List<Path> blocksIn(Path base) throws Exception {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(base)) {
            return out;
        }
        try (Stream<Path> files = Files.walk(base)) {
            files.filter(f -> f.toString().endsWith(".blk")).forEach(out::add);
        }
        return out;
    }

    private static Scrape metrics(CuratorFramework zk, String id) throws Exception {
        ExecutorRecord r = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.executor(id)));
        String url = "http://" + r.host() + ":" + r.metricsPort() + "/metrics";
        HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        return PrometheusText.parse(res.body());
    }
}
