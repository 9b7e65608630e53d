package io.quiver.coordinator.sim;

import io.quiver.coordinator.sched.Link;
import io.quiver.coordinator.sched.Scheduler;
import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.coordinator.sched.SchedulerEvent.BlocksStored;
import io.quiver.coordinator.sched.SchedulerEvent.ClientConnected;
import io.quiver.coordinator.sched.SchedulerEvent.ClientLeft;
import io.quiver.coordinator.sched.SchedulerEvent.ClientLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorGraceExpired;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorNodeGone;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorRegistered;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorStatus;
import io.quiver.coordinator.sched.SchedulerEvent.InfoRequested;
import io.quiver.coordinator.sched.SchedulerEvent.RefsReleased;
import io.quiver.coordinator.sched.SchedulerEvent.ScatterRequested;
import io.quiver.coordinator.sched.SchedulerEvent.TasksFinished;
import io.quiver.coordinator.sched.SchedulerEvent.TasksSubmitted;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * TEMPORARY: maps scheduler events onto today's {@link Scheduler} (wire messages through
 * {@code onMessage}, connection changes through its {@code onXxx} methods), doing what today's
 * {@code Coordinator} does around it. Delete it when the facade of issue 6 lands; see
 * {@link SimLeader} for what replaces it. Confined to the simulation thread.
 *
 * <p>Events today's scheduler has no counterpart for are dropped here: {@code RefsHeld} (today's
 * scheduler closes a client that sends Hold), {@code ClientGraceExpired} (no client grace),
 * {@code ExecutorNodeSeen}, {@code TermStarted}, {@code RecoveryDeadline}, {@code OrphanDeadline},
 * {@code ZooKeeperSuspended}, {@code ZooKeeperReconnected}.
 */
final class TodaySchedulerAdapter implements SimLeader {
    /** Today's {@code Coordinator.EXECUTOR_GRACE_MILLIS}; the coordinator arms this timer, not the scheduler. */
    private static final long EXECUTOR_GRACE_NANOS = 2_000_000_000L;

    private final Scheduler scheduler;
    private final Timers timers;
    /** Today's scheduler names a client by its connection. */
    private final Map<String, Link> clientLinks = new HashMap<>();

    TodaySchedulerAdapter(String leaderId, long epoch, LongSupplier nanoTime, Timers timers) {
        this.scheduler = new Scheduler(leaderId, epoch, nanoTime);
        this.timers = timers;
    }

    @Override
    public void handle(SchedulerEvent event) {
        if (event instanceof ClientConnected e) {
            clientLinks.put(e.client(), e.link());
        } else if (event instanceof TasksSubmitted e) {
            scheduler.onMessage(clientLinks.get(e.client()), e.client(), new Submit(e.fns(), e.tasks()));
        } else if (event instanceof RefsReleased e) {
            scheduler.onMessage(clientLinks.get(e.client()), e.client(), new Release(e.refs()));
        } else if (event instanceof ScatterRequested e) {
            scheduler.onMessage(clientLinks.get(e.client()), e.client(), e.request());
        } else if (event instanceof InfoRequested e) {
            scheduler.onMessage(clientLinks.get(e.client()), e.client(), new InfoRequest(e.reqId()));
        } else if (event instanceof ClientLinkClosed e) {
            clientLinks.remove(e.client(), e.link());
            scheduler.onClientGone(e.link());
        } else if (event instanceof ClientLeft e) {
            Link link = clientLinks.remove(e.client());
            if (link != null) {
                scheduler.onClientGone(link);
            }
        } else if (event instanceof ExecutorRegistered e) {
            scheduler.onMessage(e.link(), e.executor(), e.register());
        } else if (event instanceof TasksFinished e) {
            scheduler.onMessage(e.link(), e.executor(), e.results());
        } else if (event instanceof BlocksStored e) {
            scheduler.onMessage(e.link(), e.executor(), e.stored());
        } else if (event instanceof ExecutorStatus e) {
            scheduler.onMessage(e.link(), e.executor(), e.status());
        } else if (event instanceof ExecutorLinkClosed e) {
            scheduler.onExecutorLinkClosed(e.executor(), e.link());
            timers.after(EXECUTOR_GRACE_NANOS, new ExecutorGraceExpired(e.executor()));
        } else if (event instanceof ExecutorGraceExpired e) {
            scheduler.onExecutorGraceExpired(e.executor());
        } else if (event instanceof ExecutorNodeGone e) {
            scheduler.onExecutorLost(e.executor(), "its ZooKeeper node went away");
        }
    }

    @Override
    public void submitJob(String client, SubmitJob job) {
        scheduler.onMessage(clientLinks.get(client), client, job);
    }

    @Override
    public void afterBatch() {
        scheduler.afterBatch();
    }
}
