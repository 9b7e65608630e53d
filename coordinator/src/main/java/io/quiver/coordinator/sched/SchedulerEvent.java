package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.HoldPins;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Status;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.TaskResults;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.planner.PhysicalPlan;
import java.util.List;

/**
 * Everything that can happen to the leader's scheduler, as typed events. The coordinator translates
 * wire messages, connection changes, ZooKeeper callbacks and timers into these and posts them to the
 * scheduler loop; {@link Scheduler#handle} applies them one at a time. Work that needs no scheduler
 * state (decoding, planning a job, serializing its stage functions) happens before an event exists.
 *
 * <p>Clients are named by the id they gave in the handshake, which stays the same when they
 * reconnect; a {@link Link} is one connection of theirs.
 */
public sealed interface SchedulerEvent {

    // ------------------------------------------------------------------ clients

    /** A client connected (for the first time, or again after a drop or a leader change). */
    record ClientConnected(String client, Link link) implements SchedulerEvent {}

    /** New tasks, or, from a resuming client, tasks it sent to an earlier leader (with their lineage). */
    record TasksSubmitted(String client, List<FnDef> fns, List<TaskSpec> tasks) implements SchedulerEvent {}

    record RefsReleased(String client, List<RefId> refs) implements SchedulerEvent {}

    /** The client cancels these tasks ({@code Ref.cancel()}); their dependents are cancelled with them. */
    record TasksCancelled(String client, List<RefId> refs) implements SchedulerEvent {}

    /** The client asks for more copies of a finished value ({@code Quiver.replicate}). */
    record ReplicateRequested(String client, io.quiver.core.protocol.Message.ReplicateRequest request)
            implements SchedulerEvent {}

    /**
     * A client starts ({@code end} false) or ends re-sending what it holds on a new connection:
     * what it re-sends in between is placed only at the end, once its releases are known.
     */
    record ClientResuming(String client, boolean end) implements SchedulerEvent {}

    /** A resuming client's refs that no task produces (scattered, broadcast, persisted). */
    record RefsHeld(String client, List<HeldRef> refs) implements SchedulerEvent {}

    /** A resuming client's held refs that were scattered {@code Scatter.on}: their readers stay there. */
    record RefsPinned(String client, List<HoldPins.Pin> pins) implements SchedulerEvent {}

    record ScatterRequested(String client, ScatterRequest request) implements SchedulerEvent {}

    record InfoRequested(String client, long reqId) implements SchedulerEvent {}

    /**
     * A dataset job, planned off the loop against {@link Scheduler#view()}. {@code stageFunctions}
     * holds each stage's serialized task function, by stage id. {@code job} names every ref of the
     * job (see {@code JobRefs}), so the same job sent again adopts what its stages already wrote.
     */
    record JobSubmitted(String client, long reqId, RefId job, PhysicalPlan plan, List<byte[]> stageFunctions)
            implements SchedulerEvent {}

    /** One connection of a client closed; the client is gone unless it reconnects within its grace. */
    record ClientLinkClosed(String client, Link link) implements SchedulerEvent {}

    /** Timer: the client's grace after a dropped connection is over. */
    record ClientGraceExpired(String client, Link link) implements SchedulerEvent {}

    /** The client closed on purpose: release what it held now. */
    record ClientLeft(String client) implements SchedulerEvent {}

    // ------------------------------------------------------------------ executors

    record ExecutorRegistered(String executor, Link link, Register register) implements SchedulerEvent {}

    record TasksFinished(String executor, Link link, TaskResults results) implements SchedulerEvent {}

    record BlocksStored(String executor, Link link, StoredBlocks stored) implements SchedulerEvent {}

    record ExecutorStatus(String executor, Link link, Status status) implements SchedulerEvent {}

    /** An executor's connection closed; it is lost unless it registers again within the grace. */
    record ExecutorLinkClosed(String executor, Link link) implements SchedulerEvent {}

    /**
     * Timer: the grace after the executor's {@code drop}-th trouble ({@link ExecutorLinkClosed} or
     * {@link ExecutorNodeGone} with the link up) is over. A later trouble starts a grace of its own:
     * this one's timer then changes nothing.
     */
    record ExecutorGraceExpired(String executor, int drop) implements SchedulerEvent {}

    /** The executor's ZooKeeper node went away: its process or its session is gone. */
    record ExecutorNodeGone(String executor) implements SchedulerEvent {}

    /** The executor's ZooKeeper node is there (again): after an outage, a lost executor may come back. */
    record ExecutorNodeSeen(String executor) implements SchedulerEvent {}

    /**
     * What an executor's ZooKeeper record says beyond its presence: its metrics port, and whether it
     * is closing on purpose (then its going is logged as a departure, not as a loss).
     */
    record ExecutorNodeData(String executor, int metricsPort, boolean leaving) implements SchedulerEvent {}

    /**
     * The executor said Goodbye on its link: it stops on purpose, so its going is a departure, not
     * a loss (its ZooKeeper record's leaving flag may arrive too late: the node goes at once).
     */
    record ExecutorLeaving(String executor) implements SchedulerEvent {}

    /** Timer: a task put back after a failed fetch may be placed again. */
    record TaskRetry(RefId task) implements SchedulerEvent {}

    // ------------------------------------------------------------------ leadership

    /**
     * The executors this leader expects to re-register when its term starts (the children of
     * {@code /executors}). Until each has registered, or {@link RecoveryDeadline} passes, the
     * scheduler places nothing, so a task still running on a late executor is not started twice.
     */
    record TermStarted(List<String> expectedExecutors) implements SchedulerEvent {}

    /**
     * Something the event line should show that the scheduler did not see itself, such as the
     * previous leader's end as this coordinator saw it in ZooKeeper before its own term.
     *
     * @param kind the event's kind ({@link ClusterSnapshot.EventRow#kind()})
     * @param text what happened, for people
     * @param atNanos when, on the scheduler's clock
     */
    record Noted(String kind, String text, long atNanos) implements SchedulerEvent {}

    /** Timer: recovery is over whether or not every expected executor came back. */
    record RecoveryDeadline() implements SchedulerEvent {}

    /** Timer: unclaimed blocks and results from before the term that nobody adopted may go. */
    record OrphanDeadline() implements SchedulerEvent {}

    /** ZooKeeper is SUSPENDED: this leader may already be deposed, so it issues no new work. */
    record ZooKeeperSuspended() implements SchedulerEvent {}

    /** ZooKeeper is back within the session: the leader goes on. */
    record ZooKeeperReconnected() implements SchedulerEvent {}
}
