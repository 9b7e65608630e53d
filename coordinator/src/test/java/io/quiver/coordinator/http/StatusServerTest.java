package io.quiver.coordinator.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.coordinator.Coordinator;
import io.quiver.coordinator.CoordinatorConfig;
import io.quiver.core.json.Json;
import io.quiver.core.metrics.PrometheusText;
import io.quiver.core.net.Secret;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The coordinators' HTTP ports against a real ZooKeeper: the leader serves, a standby redirects to it. */
class StatusServerTest {
    TestingServer zkServer;
    ClusterUrl url;
    CuratorFramework zk;
    final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void setUp() throws Exception {
        zkServer = new TestingServer(true);
        url = ClusterUrl.parse("zk://" + zkServer.getConnectString() + "/status-test");
        zk = Zk.start(url, 10_000);
    }

    @AfterEach
    void tearDown() throws Exception {
        zk.close();
        zkServer.close();
    }

    Coordinator coordinator(String id) {
        Coordinator c = new Coordinator(new CoordinatorConfig(url, id, "127.0.0.1", 0, Secret.NONE, 0));
        c.start();
        return c;
    }

    HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(java.net.http.HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    LeaderRecord published() {
        try {
            return LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
        } catch (Exception e) {
            return null;
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theLeaderServesItsStateAndAStandbyRedirectsToIt() throws Exception {
        try (Coordinator a = coordinator("coord-a"); Coordinator b = coordinator("coord-b")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> published() != null);
            LeaderRecord rec = published();
            Coordinator leader = rec.id().equals(a.id()) ? a : b;
            Coordinator standby = leader == a ? b : a;
            assertThat(rec.httpPort()).isEqualTo(leader.httpPort()).isPositive();

            HttpResponse<String> api = get(leader.httpPort(), "/api/cluster");
            assertThat(api.statusCode()).isEqualTo(200);
            assertThat(api.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
            Map<String, Object> doc = (Map<String, Object>) Json.parse(api.body());
            assertThat(doc.get("leader")).isEqualTo(leader.id());
            assertThat(doc.get("epoch")).isEqualTo(rec.epoch());
            assertThat((List<Object>) doc.get("standbys")).containsExactly(standby.id());
            // The term's first event may land just after the first copy of its state: wait for a newer copy.
            await().atMost(Duration.ofSeconds(10)).until(() -> ((List<Object>) ((Map<String, Object>) Json.parse(
                    get(leader.httpPort(), "/api/cluster").body())).get("events")).stream().anyMatch(e -> String.valueOf(
                    ((Map<String, Object>) e).get("text")).contains("took over with epoch " + rec.epoch())));

            HttpResponse<String> page = get(leader.httpPort(), "/");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("<!DOCTYPE html>").contains(leader.id()).doesNotContain("http://cdn")
                    .doesNotContain("<script src");

            HttpResponse<String> metrics = get(leader.httpPort(), "/metrics");
            PrometheusText.Scrape scrape = PrometheusText.parse(metrics.body());
            assertThat(scrape.value("quiver_leader_epoch")).isEqualTo(rec.epoch());
            assertThat(scrape.value("quiver_executors")).isZero();
            assertThat(scrape.types()).containsEntry("quiver_tasks_submitted_total", "counter");

            HttpResponse<String> redirected = get(standby.httpPort(), "/api/cluster");
            assertThat(redirected.statusCode()).isEqualTo(307);
            assertThat(redirected.headers().firstValue("Location"))
                    .hasValue("http://127.0.0.1:" + leader.httpPort() + "/api/cluster");

            assertThat(get(leader.httpPort(), "/nope").statusCode()).isEqualTo(404);

            leader.kill();
            await().atMost(Duration.ofSeconds(30)).until(standby::isLeader);
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                LeaderRecord r = published();
                return r != null && r.id().equals(standby.id());
            });
            Map<String, Object> after = (Map<String, Object>) Json.parse(get(standby.httpPort(), "/api/cluster").body());
            assertThat((Long) after.get("epoch")).isGreaterThan(rec.epoch());
            assertThat(published().httpPort()).isEqualTo(standby.httpPort());
            // The new leader saw the old one in ZooKeeper, and says so on its event line.
            String went = "leader " + leader.id() + " (epoch " + rec.epoch() + ") ended";
            await().atMost(Duration.ofSeconds(10)).until(() -> ((List<Object>) ((Map<String, Object>) Json.parse(
                    get(standby.httpPort(), "/api/cluster").body())).get("events")).stream()
                    .anyMatch(e -> String.valueOf(((Map<String, Object>) e).get("text")).contains(went)));
        }
    }

    @Test
    void aTakenHttpPortFailsStartWithAClearError() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            Coordinator c = new Coordinator(new CoordinatorConfig(url, "coord-x", "127.0.0.1", 0, Secret.NONE,
                    taken.getLocalPort()));
            org.assertj.core.api.Assertions.assertThatThrownBy(c::start)
                    .hasMessageContaining("status page").hasMessageContaining("--http-port");
            c.close();
        }
    }
}
