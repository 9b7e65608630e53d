package io.quiver.cli;

import io.quiver.ClusterUnavailableException;
import io.quiver.core.json.Json;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code quiver status}: finds the leader in ZooKeeper, reads its {@code /api/cluster} and prints
 * the leader, standbys, executors, values and jobs as tables, or the document itself with
 * {@code --json}.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"Prints what a cluster is doing: leader, standbys, executors, values and jobs.",
                "Reads the leader's /api/cluster (its address is published in ZooKeeper)."})
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    ConfigOptions config;

    @Option(names = "--json", description = "Print the leader's /api/cluster JSON instead of tables.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        ClusterUrl url = cluster.url(spec);
        LeaderRecord leader;
        try (CuratorFramework zk = Zk.start(url, cluster.secret(), 10_000)) { // with a secret, znodes need it
            try {
                leader = LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
            } catch (KeeperException.NoNodeException e) {
                throw new ClusterUnavailableException("no leader is published in " + url + " (no " + ZkPaths.LEADER
                        + " node): start a coordinator with 'quiver coordinator --zk " + url + "', or check the root path");
            }
        }
        if (leader.httpPort() <= 0) {
            throw new ClusterUnavailableException("leader " + leader.id() + " (epoch " + leader.epoch() + ") publishes no"
                    + " HTTP port; it runs a Quiver older than its status page");
        }
        String api = "http://" + leader.host() + ":" + leader.httpPort() + "/api/cluster";
        String body;
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                    .followRedirects(HttpClient.Redirect.NORMAL).build();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api)).timeout(Duration.ofSeconds(10))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new ClusterUnavailableException(api + " answered HTTP " + r.statusCode() + ": " + r.body().strip());
            }
            body = r.body();
        } catch (java.io.IOException e) {
            throw new ClusterUnavailableException("cannot read " + api + " of leader " + leader.id() + ": " + e
                    + "; is the leader reachable from here?");
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(body);
        } else {
            @SuppressWarnings("unchecked")
            Map<String, Object> doc = (Map<String, Object>) Json.parse(body);
            out.print(tables(doc));
        }
        out.flush();
        return 0;
    }

    /** The document as text tables. */
    @SuppressWarnings("unchecked")
    static String tables(Map<String, Object> doc) {
        StringBuilder sb = new StringBuilder();
        List<Object> standbys = (List<Object>) doc.getOrDefault("standbys", List.of());
        Map<String, Object> tasks = (Map<String, Object>) doc.getOrDefault("tasks", Map.of());
        sb.append("leader    ").append(doc.get("leader")).append("  epoch ").append(doc.get("epoch")).append("  ")
                .append(doc.get("statusUrl")).append(Boolean.TRUE.equals(doc.get("recovering")) ? "  (recovering)" : "")
                .append('\n');
        sb.append("standbys  ").append(standbys.isEmpty() ? "none" : join(standbys)).append('\n');
        sb.append("tasks     ").append(tasks.get("running")).append(" running, ").append(tasks.get("queued"))
                .append(" queued, ").append(tasks.get("finished")).append(" finished, ").append(tasks.get("failed"))
                .append(" failed\n\n");
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("EXECUTOR", "ADDRESS", "SLOTS", "RUNNING", "QUEUED", "MEMORY USED", "LIMIT", "ON DISK", "STATE"));
        for (Map<String, Object> e : (List<Map<String, Object>>) doc.getOrDefault("executors", List.of())) {
            long spilled = num(e.get("spilled"));
            rows.add(List.of(str(e.get("id")), e.get("host") + ":" + e.get("port"), str(e.get("slots")),
                    str(e.get("running")), str(e.get("queued")), bytes(num(e.get("memoryUsed"))),
                    bytes(num(e.get("memoryLimit"))), spilled < 0 ? "?" : bytes(spilled),
                    Boolean.TRUE.equals(e.get("live")) ? "live" : "link down"));
        }
        table(sb, rows);
        List<Map<String, Object>> values = (List<Map<String, Object>>) doc.getOrDefault("values", List.of());
        if (!values.isEmpty()) {
            rows = new ArrayList<>();
            rows.add(List.of("VALUE", "KIND", "SIZE", "REPLICAS"));
            for (Map<String, Object> v : values) {
                List<Object> replicas = (List<Object>) v.get("replicas");
                rows.add(List.of(str(v.get("ref")), str(v.get("kind")), bytes(num(v.get("bytes"))),
                        replicas.size() + ": " + join(replicas)));
            }
            sb.append('\n');
            table(sb, rows);
        }
        List<Map<String, Object>> jobs = (List<Map<String, Object>>) doc.getOrDefault("jobs", List.of());
        if (!jobs.isEmpty()) {
            rows = new ArrayList<>();
            rows.add(List.of("JOB", "CLIENT", "STATE", "STAGES", "TASKS DONE", "DURATION"));
            for (Map<String, Object> j : jobs) {
                List<Map<String, Object>> stages = (List<Map<String, Object>>) j.get("stages");
                long done = 0;
                long total = 0;
                for (Map<String, Object> s : stages) {
                    done += num(s.get("done"));
                    total += num(s.get("tasks"));
                }
                rows.add(List.of(str(j.get("id")), str(j.get("client")), str(j.get("state")), String.valueOf(stages.size()),
                        done + "/" + total, String.format(Locale.ROOT, "%.1f s", num(j.get("durationMs")) / 1000.0)));
            }
            sb.append('\n');
            table(sb, rows);
        }
        return sb.toString();
    }

    private static void table(StringBuilder sb, List<List<String>> rows) {
        int[] width = new int[rows.get(0).size()];
        for (List<String> r : rows) {
            for (int i = 0; i < r.size(); i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < r.size(); i++) {
                line.append(r.get(i)).append(" ".repeat(width[i] - r.get(i).length() + 2));
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
    }

    private static String join(List<Object> items) {
        return String.join(", ", items.stream().map(String::valueOf).toList());
    }

    private static String str(Object o) {
        return String.valueOf(o);
    }

    private static long num(Object o) {
        return o instanceof Number n ? n.longValue() : -1;
    }

    private static String bytes(long b) {
        return b < 0 ? "?" : Sizes.format(b);
    }
}
