package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.json.Json;
import io.quiver.local.LocalCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code quiver status} against a running LocalCluster with a standby. */
@Timeout(90)
class StatusCommandTest {
    @Test
    @SuppressWarnings("unchecked")
    void printsLeaderStandbysExecutorsValuesAndJobsAsTablesOrJson() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2).coordinators(2));
             Quiver q = cluster.connect()) {
            Ref<int[]> pinned = q.scatter(new int[1000], Scatter.broadcast());
            assertThat(q.submit(a -> a.length, pinned).result()).isEqualTo(1000);
            assertThat(q.range(0, 100, 4).count()).isEqualTo(100);

            StringWriter err = new StringWriter();
            // The leader serves a copy of its state up to 250 ms old: wait for one taken after the work.
            String text = org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
                StringWriter out = new StringWriter();
                int code = QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), "status", "--zk",
                        cluster.zkConnectString());
                assertThat(code).as(err.toString()).isZero();
                return out.toString();
            }, t -> t.contains(pinned.id().toString()) && t.contains("finished"));
            int code;
            assertThat(text).contains("leader    " + cluster.leaderId() + "  epoch " + q.cluster().epoch())
                    .contains("EXECUTOR").contains(pinned.id().toString()).contains("broadcast")
                    .contains("JOB").contains("finished");
            for (String id : cluster.executorIds()) {
                assertThat(text).containsPattern("(?m)^" + id + " +127\\.0\\.0\\.1:\\d+ +1 +0 +0 ");
            }
            assertThat(text).doesNotContain("standbys  none");

            StringWriter json = new StringWriter();
            code = QuiverCli.execute(new PrintWriter(json, true), new PrintWriter(err, true), "status", "--zk",
                    cluster.zkConnectString(), "--json");
            assertThat(code).as(err.toString()).isZero();
            Map<String, Object> doc = (Map<String, Object>) Json.parse(json.toString().strip());
            assertThat(doc.get("leader")).isEqualTo(cluster.leaderId());
            assertThat((List<Object>) doc.get("standbys")).hasSize(1).doesNotContain(cluster.leaderId());
            assertThat((List<Map<String, Object>>) doc.get("executors")).extracting(e -> e.get("id"))
                    .containsExactlyInAnyOrderElementsOf(cluster.executorIds());
        }
    }

    @Test
    void aClusterWithoutALeaderIsAClearError() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1))) {
            String empty = cluster.zkConnectString().replaceFirst("/[^/]*$", "/nobody-here");
            StringWriter err = new StringWriter();
            int code = QuiverCli.execute(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), "status",
                    "--zk", empty);
            assertThat(code).isEqualTo(QuiverCli.EXIT_ERROR);
            assertThat(err.toString()).contains("no leader is published").contains("quiver coordinator --zk");
        }
    }
}
