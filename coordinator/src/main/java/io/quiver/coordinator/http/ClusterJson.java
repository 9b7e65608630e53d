package io.quiver.coordinator.http;

import io.quiver.coordinator.sched.ClusterSnapshot;
import io.quiver.coordinator.sched.ClusterSnapshot.EventRow;
import io.quiver.coordinator.sched.ClusterSnapshot.ExecutorRow;
import io.quiver.coordinator.sched.ClusterSnapshot.JobRow;
import io.quiver.coordinator.sched.ClusterSnapshot.StageRow;
import io.quiver.coordinator.sched.ClusterSnapshot.TaskSpan;
import io.quiver.coordinator.sched.ClusterSnapshot.ValueRow;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code /api/cluster} document: a {@link ClusterSnapshot} as maps and lists for
 * {@link io.quiver.core.json.Json}. The field names are what the status page and
 * {@code quiver status} read; add to them, do not rename. Pure, any thread.
 */
public final class ClusterJson {
    private ClusterJson() {}

    /**
     * The document.
     *
     * @param s the leader's state
     * @param statusUrl the leader's HTTP address
     * @param standbys the standby coordinators' ids
     * @param spilled bytes each executor holds on disk, by executor id (absent: unknown)
     * @return the document as nested maps and lists
     */
    public static Map<String, Object> of(ClusterSnapshot s, String statusUrl, List<String> standbys,
                                         Map<String, Long> spilled) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("leader", s.leaderId());
        m.put("epoch", s.epoch());
        m.put("statusUrl", statusUrl);
        m.put("standbys", List.copyOf(standbys));
        m.put("takenAt", s.takenAtMillis());
        m.put("recovering", s.recovering());
        Map<String, Object> tasks = new LinkedHashMap<>();
        tasks.put("submitted", s.tasksSubmitted());
        tasks.put("finished", s.tasksFinished());
        tasks.put("failed", s.tasksFailed());
        tasks.put("running", s.tasksRunning());
        tasks.put("queued", s.tasksQueued());
        m.put("tasks", tasks);
        List<Object> execs = new ArrayList<>();
        for (ExecutorRow e : s.executors()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("id", e.id());
            x.put("host", e.host());
            x.put("port", e.port());
            x.put("metricsPort", e.metricsPort());
            x.put("live", e.live());
            x.put("slots", e.slots());
            x.put("memoryUsed", e.memoryUsed());
            x.put("memoryLimit", e.memoryLimit());
            x.put("memoryReserved", e.memoryReserved());
            x.put("spilled", spilled.getOrDefault(e.id(), -1L));
            x.put("running", e.running());
            x.put("queued", e.queued());
            execs.add(x);
        }
        m.put("executors", execs);
        List<Object> values = new ArrayList<>();
        for (ValueRow v : s.values()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("ref", v.ref());
            x.put("kind", v.broadcast() ? "broadcast" : "scattered");
            x.put("bytes", v.bytes());
            x.put("replicas", v.replicas());
            x.put("ready", v.ready());
            values.add(x);
        }
        m.put("values", values);
        List<Object> jobs = new ArrayList<>();
        for (JobRow j : s.jobs()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("id", j.id());
            x.put("client", j.client());
            x.put("started", j.startedMillis());
            x.put("durationMs", j.durationMillis());
            x.put("state", j.state());
            List<Object> stages = new ArrayList<>();
            for (StageRow st : j.stages()) {
                Map<String, Object> y = new LinkedHashMap<>();
                y.put("index", st.index());
                y.put("kind", st.kind());
                y.put("tasks", st.tasks());
                y.put("done", st.done());
                y.put("failed", st.failed());
                y.put("running", st.running());
                stages.add(y);
            }
            x.put("stages", stages);
            jobs.add(x);
        }
        m.put("jobs", jobs);
        List<Object> stream = new ArrayList<>();
        for (TaskSpan t : s.taskStream()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("executor", t.executor());
            x.put("task", t.task());
            x.put("label", t.label());
            x.put("start", t.startMillis());
            x.put("end", t.endMillis());
            x.put("ok", t.ok());
            stream.add(x);
        }
        m.put("taskStream", stream);
        List<Object> events = new ArrayList<>();
        for (EventRow e : s.events()) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("at", e.atMillis());
            x.put("kind", e.kind());
            x.put("text", e.text());
            events.add(x);
        }
        m.put("events", events);
        return m;
    }

    /**
     * Merges more events into a document's {@code events}, in time order.
     *
     * @param doc a document from {@link #of}
     * @param more the events to add
     */
    @SuppressWarnings("unchecked")
    public static void addEvents(Map<String, Object> doc, List<EventRow> more) {
        if (more.isEmpty()) {
            return;
        }
        List<Object> events = (List<Object>) doc.get("events");
        for (EventRow e : more) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("at", e.atMillis());
            x.put("kind", e.kind());
            x.put("text", e.text());
            events.add(x);
        }
        events.sort(java.util.Comparator.comparingLong(o -> (Long) ((Map<String, Object>) o).get("at")));
    }
}
