package io.quiver.coordinator.http;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.quiver.coordinator.sched.ClusterSnapshot;
import io.quiver.coordinator.sched.ClusterSnapshot.ExecutorRow;
import java.io.IOException;
import java.io.OutputStream;
import java.util.function.Supplier;

/**
 * The leader's Prometheus metrics (API.md section 7), read from the latest {@link ClusterSnapshot}
 * at scrape time, never from scheduler state. Counters carry over leadership terms within this
 * coordinator process ({@link #termEnded}), so they only rise while it runs. Thread-safe: scrapes
 * run on HTTP threads, {@link #termEnded} on the coordinator's.
 */
public final class LeaderMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Supplier<ClusterSnapshot> current;
    private long carriedSubmitted;
    private long carriedFinished;
    private long carriedFailed;
    private long carriedBroadcast;

    /**
     * Metrics over {@code current}.
     *
     * @param current the snapshot to report; null while this coordinator stands by
     */
    public LeaderMetrics(Supplier<ClusterSnapshot> current) {
        this.current = current;
        gauge("quiver_leader_epoch", "The leader's epoch (its fencing token); rises with each leader change.",
                s -> s.epoch());
        gauge("quiver_executors", "Live executors.", s -> s.executors().stream().filter(ExecutorRow::live).count());
        gauge("quiver_tasks_running", "Tasks running on executors.", s -> s.tasksRunning());
        gauge("quiver_tasks_queued", "Tasks ready to run or queued on an executor, not started yet.", s -> s.tasksQueued());
        counter("quiver_tasks_submitted_total", "Tasks added (submitted functions and dataset tasks).",
                s -> carried(0) + s.tasksSubmitted());
        counter("quiver_tasks_finished_total", "Tasks that finished with a result.", s -> carried(1) + s.tasksFinished());
        counter("quiver_tasks_failed_total", "Tasks that failed.", s -> carried(2) + s.tasksFailed());
        counter("quiver_broadcast_bytes_total", "Bytes of broadcast copies stored on executors.",
                s -> carried(3) + s.broadcastBytes());
        perExecutor("quiver_executor_memory_used_bytes", "Bytes an executor's block store holds in memory.",
                e -> e.memoryUsed());
        perExecutor("quiver_executor_memory_limit_bytes", "An executor's memory budget.", e -> e.memoryLimit());
        perExecutor("quiver_executor_slots", "An executor's task slots.", e -> e.slots());
        perExecutor("quiver_executor_tasks_running", "Tasks running on an executor.", e -> e.running());
        perExecutor("quiver_executor_tasks_queued", "Tasks queued on an executor.", e -> e.queued());
    }

    private interface Value {
        double of(ClusterSnapshot s);
    }

    private interface ExecutorValue {
        double of(ExecutorRow e);
    }

    private void gauge(String name, String help, Value v) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> {
            ClusterSnapshot s = current.get();
            if (s != null) {
                cb.call(v.of(s));
            }
        }).register(registry);
    }

    private void counter(String name, String help, Value v) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> {
            ClusterSnapshot s = current.get();
            if (s != null) {
                cb.call(v.of(s));
            }
        }).register(registry);
    }

    private void perExecutor(String name, String help, ExecutorValue v) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("executor").callback(cb -> {
            ClusterSnapshot s = current.get();
            if (s != null) {
                for (ExecutorRow e : s.executors()) {
                    cb.call(v.of(e), e.id());
                }
            }
        }).register(registry);
    }

    private synchronized long carried(int which) {
        return switch (which) {
            case 0 -> carriedSubmitted;
            case 1 -> carriedFinished;
            case 2 -> carriedFailed;
            default -> carriedBroadcast;
        };
    }

    /**
     * A leadership term ended: its counters, as last reported, carry into the next term's.
     *
     * @param last the last snapshot the term served, or null if it served none
     */
    public synchronized void termEnded(ClusterSnapshot last) {
        if (last != null) {
            carriedSubmitted += last.tasksSubmitted();
            carriedFinished += last.tasksFinished();
            carriedFailed += last.tasksFailed();
            carriedBroadcast += last.broadcastBytes();
        }
    }

    /** The content type of {@link #write}. */
    String contentType() {
        return writer.getContentType();
    }

    /** Writes every metric in the Prometheus text format. */
    void write(OutputStream out) throws IOException {
        writer.write(out, registry.scrape());
    }
}
