package io.quiver.coordinator.http;

import io.quiver.coordinator.sched.ClusterSnapshot;
import io.quiver.coordinator.sched.ClusterSnapshot.EventRow;
import io.quiver.coordinator.sched.ClusterSnapshot.ExecutorRow;
import io.quiver.core.metrics.PrometheusText;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What only executors know, read from their own {@code /metrics} for the status page: bytes each
 * holds on disk, and stale-epoch commands each refused (turned into events). Scrapes all executors
 * in parallel at most once a second, each with a short timeout, on the HTTP threads; the scheduler
 * loop is not involved. Thread-safe (synchronized; called by the status server's threads).
 */
final class ExecutorScraper {
    static final long PERIOD_MILLIS = 1_000;
    private static final int MAX_EVENTS = 100;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(300)).build();
    private long lastMillis;
    private Map<String, Long> spilled = Map.of();
    private final Map<String, Double> refused = new HashMap<>();
    private final ArrayDeque<EventRow> events = new ArrayDeque<>();

    /** Bytes on disk by executor, refreshed if older than a second. */
    synchronized Map<String, Long> spilled(ClusterSnapshot s) {
        refresh(s);
        return spilled;
    }

    /** Refusals of stale commands the executors reported, oldest first. */
    synchronized List<EventRow> events() {
        return List.copyOf(events);
    }

    private void refresh(ClusterSnapshot s) {
        long now = System.currentTimeMillis();
        if (now - lastMillis < PERIOD_MILLIS) {
            return;
        }
        lastMillis = now;
        Map<String, CompletableFuture<HttpResponse<String>>> pending = new HashMap<>();
        for (ExecutorRow e : s.executors()) {
            if (e.metricsPort() > 0 && e.live()) {
                HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + e.host() + ":" + e.metricsPort() + "/metrics"))
                        .timeout(Duration.ofMillis(500)).build();
                pending.put(e.id(), http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
            }
        }
        Map<String, Long> disk = new HashMap<>();
        pending.forEach((id, f) -> {
            try {
                HttpResponse<String> r = f.get(700, TimeUnit.MILLISECONDS);
                if (r.statusCode() != 200) {
                    return;
                }
                PrometheusText.Scrape scrape = PrometheusText.parse(r.body());
                double d = scrape.value("quiver_executor_disk_bytes", "executor", id);
                if (!Double.isNaN(d)) {
                    disk.put(id, (long) d);
                }
                double n = scrape.value("quiver_executor_stale_epoch_refused_total", "executor", id);
                if (!Double.isNaN(n)) {
                    Double before = refused.put(id, n);
                    if (n > (before == null ? 0 : before)) {
                        events.addLast(new EventRow(now, "stale", "executor " + id + " refused "
                                + (long) (n - (before == null ? 0 : before)) + " commands from a deposed leader"
                                + " (their epoch was older than the newest it had seen)"));
                        while (events.size() > MAX_EVENTS) {
                            events.removeFirst();
                        }
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // unreachable or slow executor: its figures stay unknown this round
            }
        });
        spilled = Map.copyOf(disk);
    }
}
