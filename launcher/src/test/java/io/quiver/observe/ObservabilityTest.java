package io.quiver.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.json.Json;
import io.quiver.core.metrics.PrometheusText;
import io.quiver.core.metrics.PrometheusText.Sample;
import io.quiver.core.metrics.PrometheusText.Scrape;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.local.LocalCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a running cluster shows (API.md section 7): the leader's {@code /api/cluster} and
 * {@code /metrics}, each executor's own {@code /metrics} published in ZooKeeper, and events for
 * executors that join and leave. Metrics are parsed strictly as the Prometheus text format.
 */
@Timeout(120)
class ObservabilityTest {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static String get(String url) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(url).isEqualTo(200);
        return r.body();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> api(String statusUrl) throws Exception {
        return (Map<String, Object>) Json.parse(get(statusUrl + "api/cluster"));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Map<String, Object> doc, String key) {
        return (List<Map<String, Object>>) doc.get(key);
    }

    /** Every counter sample of {@code before} is still there in {@code after}, and not lower. */
    static void countersOnlyRose(Scrape before, Scrape after) {
        for (Sample s : before.samples()) {
            String family = s.name().endsWith("_total") ? s.name() : null;
            if (family != null && "counter".equals(before.types().get(family))) {
                double later = after.value(s.name(), flat(s.labels()));
                assertThat(later).as("counter %s%s", s.name(), s.labels()).isGreaterThanOrEqualTo(s.value());
            }
        }
    }

    static String[] flat(Map<String, String> labels) {
        List<String> out = new ArrayList<>();
        labels.forEach((k, v) -> {
            out.add(k);
            out.add(v);
        });
        return out.toArray(new String[0]);
    }

    @Test
    void theLeaderAndEachExecutorShowWhatTheClusterDoes() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(64L << 20));
             Quiver q = cluster.connect();
             CuratorFramework zk = Zk.start(ClusterUrl.parse(cluster.zkConnectString()), 10_000)) {
            String url = q.cluster().statusUrl();
            assertThat(url).startsWith("http://127.0.0.1:").endsWith("/");
            List<String> ids = cluster.executorIds();

            Scrape first = PrometheusText.parse(get(url + "metrics"));

            Ref<long[]> pinned = q.scatter(new long[100_000], Scatter.broadcast());
            List<Ref<Integer>> refs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                refs.add(q.submit(a -> a.length, pinned));
            }
            assertThat(q.gather(refs)).containsOnly(100_000);
            Map<Integer, Long> counts = q.range(0, 1000, 4).mapToPair(i -> KV.of((int) (i % 3), 1L))
                    .reduceByKey(Long::sum).collectAsMap();
            assertThat(counts).hasSize(3);

            // The page serves a copy of the scheduler's state up to 250 ms old: wait for one taken after the work.
            Map<String, Object> doc = await().atMost(Duration.ofSeconds(10)).until(() -> api(url),
                    d -> !list(d, "values").isEmpty() && list(d, "jobs").stream().anyMatch(j -> "finished".equals(j.get("state"))));
            assertThat(doc.get("leader")).isEqualTo(cluster.leaderId());
            assertThat(doc.get("epoch")).isEqualTo(q.cluster().epoch());
            assertThat(list(doc, "executors")).extracting(e -> e.get("id")).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(list(doc, "executors")).allSatisfy(e -> {
                assertThat((Long) e.get("memoryLimit")).isEqualTo(64L << 20);
                assertThat((Long) e.get("slots")).isEqualTo(1L);
            });
            assertThat(list(doc, "values")).anySatisfy(v -> {
                assertThat(v.get("ref")).isEqualTo(pinned.id().toString());
                assertThat(v.get("kind")).isEqualTo("broadcast");
                assertThat((Long) v.get("bytes")).isGreaterThan(800_000L);
                assertThat((List<Object>) v.get("replicas")).containsExactlyInAnyOrderElementsOf(ids);
            });
            assertThat(list(doc, "jobs")).singleElement().satisfies(j -> {
                assertThat(j.get("state")).isEqualTo("finished");
                List<Map<String, Object>> stages = (List<Map<String, Object>>) j.get("stages");
                assertThat(stages).hasSize(2).allSatisfy(s -> assertThat(s.get("done")).isEqualTo(s.get("tasks")));
            });
            assertThat(list(doc, "taskStream")).hasSizeGreaterThanOrEqualTo(20)
                    .extracting(t -> t.get("executor")).isSubsetOf(ids);
            assertThat(list(doc, "events")).extracting(e -> e.get("kind")).contains("leader", "joined", "job");

            String page = get(url);
            assertThat(page).contains(ids.get(0)).contains(ids.get(1)).contains(pinned.id().toString());

            Scrape second = await().atMost(Duration.ofSeconds(10)).until(() -> PrometheusText.parse(get(url + "metrics")),
                    m -> m.value("quiver_tasks_finished_total") >= 20 + 8);
            countersOnlyRose(first, second);
            assertThat(second.value("quiver_tasks_finished_total")).isGreaterThanOrEqualTo(20 + 8);
            assertThat(second.value("quiver_broadcast_bytes_total")).isGreaterThan(2 * 800_000);
            assertThat(second.value("quiver_executors")).isEqualTo(2);
            for (String id : ids) {
                assertThat(second.value("quiver_executor_memory_used_bytes", "executor", id)).isPositive();
                assertThat(second.value("quiver_executor_memory_limit_bytes", "executor", id)).isEqualTo(64L << 20);
            }

            long tasksOnExecutors = 0;
            for (String id : ids) {
                ExecutorRecord r = ExecutorRecord.parse(zk.getData().forPath(ZkPaths.executor(id)));
                assertThat(r.metricsPort()).isPositive();
                String m = "http://" + r.host() + ":" + r.metricsPort() + "/metrics";
                Scrape a = PrometheusText.parse(get(m));
                assertThat(a.samples()).allSatisfy(s -> assertThat(s.labels()).containsEntry("executor", id));
                assertThat(a.value("quiver_executor_stale_epoch_refused_total", "executor", id)).isZero();
                assertThat(a.value("quiver_executor_data_received_bytes_total", "executor", id)).isGreaterThan(800_000);
                tasksOnExecutors += (long) a.value("quiver_executor_tasks_total", "executor", id);
                q.submit(() -> 1).result(Duration.ofSeconds(30));
                countersOnlyRose(a, PrometheusText.parse(get(m)));
            }
            assertThat(tasksOnExecutors).isGreaterThanOrEqualTo(28);

            // An executor stopped on purpose leaves; it is not "lost".
            String leaving = ids.get(1);
            cluster.stopExecutor(leaving);
            await().atMost(Duration.ofSeconds(30)).until(() -> list(api(url), "events").stream()
                    .anyMatch(e -> "left".equals(e.get("kind")) && e.get("text").toString().contains(leaving)));
            assertThat(list(api(url), "events")).noneMatch(e -> "lost".equals(e.get("kind")));
            countersOnlyRose(second, PrometheusText.parse(get(url + "metrics")));
        }
    }
}
