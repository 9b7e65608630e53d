package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.ClusterSnapshot.EventRow;
import io.quiver.coordinator.sched.ClusterSnapshot.JobRow;
import io.quiver.coordinator.sched.ClusterSnapshot.StageRow;
import io.quiver.coordinator.sched.ClusterSnapshot.TaskSpan;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the scheduler records for people: counters, recent jobs with per-stage progress, the task
 * stream of the last minute and recent cluster events. Confined to the scheduler loop, like the
 * {@link Scheduler} that feeds it; others see it only through a {@link ClusterSnapshot}. Bounded:
 * it keeps at most {@link #MAX_JOBS} jobs, {@link #MAX_SPANS} spans and {@link #MAX_EVENTS} events.
 */
final class Observed {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);

    static final int MAX_JOBS = 50;
    static final int MAX_SPANS = 5_000;
    static final int MAX_EVENTS = 200;
    static final long STREAM_NANOS = TimeUnit.MINUTES.toNanos(1);

    long tasksSubmitted;
    long tasksFinished;
    long tasksFailed;
    long broadcastBytes;

    private final ArrayDeque<Job> jobs = new ArrayDeque<>();
    private final ArrayDeque<Span> spans = new ArrayDeque<>();
    private final ArrayDeque<Event> events = new ArrayDeque<>();

    /** A job's progress; its tasks point at it. */
    static final class Job {
        final String id;
        final String client;
        final long startNanos;
        long endNanos = -1;
        final String[] kinds;
        final int[] total;
        final int[] done;
        final int[] failed;
        final int finalStage;

        Job(String id, String client, long startNanos, String[] kinds, int[] total, int finalStage) {
            this.id = id;
            this.client = client;
            this.startNanos = startNanos;
            this.kinds = kinds;
            this.total = total;
            this.done = new int[total.length];
            this.failed = new int[total.length];
            this.finalStage = finalStage;
        }

        int tasks() {
            int n = 0;
            for (int t : total) {
                n += t;
            }
            return n;
        }

        int failedTasks() {
            int n = 0;
            for (int f : failed) {
                n += f;
            }
            return n;
        }
    }

    private record Span(String executor, String task, String label, long startNanos, long endNanos, boolean ok) {}

    private record Event(long atNanos, String kind, String text) {}

    Job jobStarted(String id, String client, String[] kinds, int[] total, int finalStage, long now) {
        Job j = new Job(id, client, now, kinds, total, finalStage);
        jobs.addLast(j);
        while (jobs.size() > MAX_JOBS) {
            jobs.removeFirst();
        }
        log.info("job {} of client {} started: {} stages, {} tasks", id, client, total.length, j.tasks());
        return j;
    }

    /** A task of {@code job} ended (recomputed tasks count again, capped at the stage's size). */
    void jobTask(Job j, int stage, boolean ok, long now) {
        if (stage < 0 || stage >= j.total.length) {
            return;
        }
        if (ok) {
            j.done[stage] = Math.min(j.total[stage], j.done[stage] + 1);
        } else {
            j.failed[stage] = Math.min(j.total[stage] - j.done[stage], j.failed[stage] + 1);
        }
        int f = j.finalStage;
        if (j.endNanos < 0 && j.done[f] + j.failed[f] >= j.total[f]) {
            j.endNanos = now;
            long ms = TimeUnit.NANOSECONDS.toMillis(now - j.startNanos);
            if (j.failedTasks() == 0) {
                log.info("job {} finished in {} ms: {} stages, {} tasks", j.id, ms, j.total.length, j.tasks());
            } else {
                log.warn("job {} failed after {} ms: {} stages, {} tasks, {} failed", j.id, ms, j.total.length,
                        j.tasks(), j.failedTasks());
            }
            event(now, "job", "job " + j.id + (j.failedTasks() == 0 ? " finished" : " failed") + " in " + ms + " ms");
        }
    }

    void span(String executor, String task, String label, long startNanos, long endNanos, boolean ok) {
        spans.addLast(new Span(executor, task, label, startNanos, endNanos, ok));
        while (spans.size() > MAX_SPANS || (!spans.isEmpty() && spans.peekFirst().endNanos < endNanos - STREAM_NANOS)) {
            spans.removeFirst();
        }
    }

    /** Records an event; one from the past ({@code now} before the newest) goes in time order. */
    void event(long now, String kind, String text) {
        Event e = new Event(now, kind, text);
        if (events.isEmpty() || events.peekLast().atNanos <= now) {
            events.addLast(e);
        } else {
            List<Event> all = new ArrayList<>(events);
            int i = all.size();
            while (i > 0 && all.get(i - 1).atNanos > now) {
                i--;
            }
            all.add(i, e);
            events.clear();
            events.addAll(all);
        }
        while (events.size() > MAX_EVENTS) {
            events.removeFirst();
        }
    }

    /** The jobs as rows; {@code running} holds each job's running tasks per stage (absent: none). */
    List<JobRow> jobRows(long now, long nowMillis, java.util.Map<Job, int[]> runningByStage) {
        List<JobRow> rows = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            List<StageRow> stages = new ArrayList<>(j.total.length);
            int[] running = runningByStage.get(j);
            for (int s = 0; s < j.total.length; s++) {
                stages.add(new StageRow(s, j.kinds[s], j.total[s], j.done[s], j.failed[s], running == null ? 0 : running[s]));
            }
            long end = j.endNanos < 0 ? now : j.endNanos;
            String state = j.endNanos < 0 ? "running" : j.failedTasks() == 0 ? "finished" : "failed";
            rows.add(new JobRow(j.id, j.client, wall(j.startNanos, now, nowMillis),
                    TimeUnit.NANOSECONDS.toMillis(end - j.startNanos), state, stages));
        }
        return rows;
    }

    List<TaskSpan> spans(long now, long nowMillis) {
        List<TaskSpan> out = new ArrayList<>(spans.size());
        for (Span s : spans) {
            if (s.endNanos >= now - STREAM_NANOS) {
                out.add(new TaskSpan(s.executor, s.task, s.label, wall(s.startNanos, now, nowMillis),
                        wall(s.endNanos, now, nowMillis), s.ok));
            }
        }
        return out;
    }

    List<EventRow> events(long now, long nowMillis) {
        List<EventRow> out = new ArrayList<>(events.size());
        for (Event e : events) {
            out.add(new EventRow(wall(e.atNanos, now, nowMillis), e.kind, e.text));
        }
        return out;
    }

    private static long wall(long nanos, long now, long nowMillis) {
        return nowMillis - TimeUnit.NANOSECONDS.toMillis(now - nanos);
    }
}
