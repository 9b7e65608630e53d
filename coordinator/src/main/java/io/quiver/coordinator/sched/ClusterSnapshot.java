package io.quiver.coordinator.sched;

import java.util.List;

/**
 * What the leader's status page, JSON API and metrics show: an immutable copy of the scheduler's
 * state, taken on the scheduler loop ({@link Scheduler#snapshot}) and then read by any thread.
 * Times are wall-clock milliseconds since the epoch.
 *
 * @param leaderId the leading coordinator
 * @param epoch its epoch
 * @param takenAtMillis when the copy was taken
 * @param recovering whether the leader still waits for executors to re-register after a leader change
 * @param tasksSubmitted tasks added in this term (a counter)
 * @param tasksFinished tasks that finished with a result in this term (a counter)
 * @param tasksFailed tasks that failed in this term (a counter)
 * @param broadcastBytes bytes of broadcast copies stored on executors in this term (a counter)
 * @param tasksRunning tasks running on executors now
 * @param tasksQueued tasks ready or queued on executors, not started yet
 * @param executors the executors the leader knows
 * @param values broadcast and scattered values
 * @param jobs recent dataset jobs, newest last
 * @param taskStream tasks that ended in the last minute, oldest first
 * @param events recent cluster events, oldest first
 */
public record ClusterSnapshot(String leaderId, long epoch, long takenAtMillis, boolean recovering, long tasksSubmitted,
                              long tasksFinished, long tasksFailed, long broadcastBytes, int tasksRunning,
                              int tasksQueued, List<ExecutorRow> executors, List<ValueRow> values, List<JobRow> jobs,
                              List<TaskSpan> taskStream, List<EventRow> events) {
    public ClusterSnapshot {
        executors = List.copyOf(executors);
        values = List.copyOf(values);
        jobs = List.copyOf(jobs);
        taskStream = List.copyOf(taskStream);
        events = List.copyOf(events);
    }

    /** Before the first copy: a leader with nothing yet. */
    public static ClusterSnapshot empty(String leaderId, long epoch, long nowMillis) {
        return new ClusterSnapshot(leaderId, epoch, nowMillis, false, 0, 0, 0, 0, 0, 0, List.of(), List.of(),
                List.of(), List.of(), List.of());
    }

    /**
     * One executor.
     *
     * @param id its id
     * @param host its host
     * @param port its data port
     * @param metricsPort its Prometheus port, 0 if none
     * @param live whether it is connected (false: within its grace after a drop)
     * @param slots task slots
     * @param memoryUsed bytes its block store holds in memory, as it last reported
     * @param memoryLimit its memory budget
     * @param memoryReserved bytes reserved for scatters on their way
     * @param running tasks running there
     * @param queued tasks queued there
     */
    public record ExecutorRow(String id, String host, int port, int metricsPort, boolean live, int slots, long memoryUsed,
                              long memoryLimit, long memoryReserved, int running, int queued) {}

    /**
     * A broadcast or scattered value.
     *
     * @param ref its ref id
     * @param broadcast true for a broadcast, false for a scatter
     * @param bytes its serialized size, -1 if not known yet
     * @param replicas executors holding a copy
     * @param ready whether every target has stored it
     */
    public record ValueRow(String ref, boolean broadcast, long bytes, List<String> replicas, boolean ready) {
        public ValueRow {
            replicas = List.copyOf(replicas);
        }
    }

    /**
     * A dataset job.
     *
     * @param id its job id
     * @param client the client that submitted it
     * @param startedMillis when it was added
     * @param durationMillis how long it ran, or has run so far
     * @param state {@code running}, {@code finished} or {@code failed}
     * @param stages its stages in order
     */
    public record JobRow(String id, String client, long startedMillis, long durationMillis, String state,
                         List<StageRow> stages) {
        public JobRow {
            stages = List.copyOf(stages);
        }
    }

    /**
     * A stage of a job.
     *
     * @param index its index in the job
     * @param kind its kind (e.g. {@code SHUFFLE_MAP}, {@code RESULT})
     * @param tasks how many tasks it has
     * @param done tasks finished
     * @param failed tasks failed
     * @param running tasks running now
     */
    public record StageRow(int index, String kind, int tasks, int done, int failed, int running) {}

    /**
     * A task that ended.
     *
     * @param executor where it ran
     * @param task its id
     * @param label its job and stage ({@code job/stage}) or {@code submit}
     * @param startMillis when it started (as the executor measured its run)
     * @param endMillis when the leader learnt it ended
     * @param ok false if it failed
     */
    public record TaskSpan(String executor, String task, String label, long startMillis, long endMillis, boolean ok) {}

    /**
     * A cluster event.
     *
     * @param atMillis when
     * @param kind {@code leader}, {@code joined}, {@code left}, {@code lost}, {@code stale}, {@code job} or {@code failed}
     * @param text what happened, for people
     */
    public record EventRow(long atMillis, String kind, String text) {}
}
