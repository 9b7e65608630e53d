package io.quiver.coordinator.sim;

import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.coordinator.sched.SchedulerEvent.BlocksStored;
import io.quiver.coordinator.sched.SchedulerEvent.ClientConnected;
import io.quiver.coordinator.sched.SchedulerEvent.ClientLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorLinkClosed;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorRegistered;
import io.quiver.coordinator.sched.SchedulerEvent.ExecutorStatus;
import io.quiver.coordinator.sched.SchedulerEvent.TasksFinished;
import io.quiver.coordinator.sched.WireEvents;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.protocol.Message.Status;
import io.quiver.core.protocol.Message.StoredBlocks;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskResults;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * One coordinator process holding one term: the scheduler of one epoch, with what the real
 * {@code Coordinator} does around it (turning messages and connection changes into events, one
 * {@code afterBatch} per burst, the scheduler's timers). Confined to the simulation thread.
 *
 * <p>A deposed coordinator (its ZooKeeper session expired while it was paused or partitioned)
 * does not know it: it goes on handling what reaches it and sending, until it dies. That is what
 * the executors' epoch fence is for.
 */
final class SimCoordinator {
    enum State { LEADING, DEPOSED, DEAD }

    private final Simulation sim;
    final long epoch;
    private final SimLeader leader;
    private final Set<SimLink> links = new LinkedHashSet<>();
    State state = State.LEADING;
    /** When it was deposed, or -1. */
    long deposedAt = -1;
    private boolean batchPending;

    SimCoordinator(Simulation sim, long epoch, SimLeader.Factory factory) {
        this.sim = sim;
        this.epoch = epoch;
        this.leader = factory.create(name(), epoch, sim::now, this::timer);
    }

    String name() {
        return "leader@" + epoch;
    }

    boolean acceptsConnections() {
        return state != State.DEAD;
    }

    /** Posts an event to this term's scheduler, as the coordinator's loop would. */
    void post(SchedulerEvent event) {
        if (state == State.DEAD) {
            return;
        }
        sim.trace(() -> name() + " handles " + Simulation.describe(event));
        try {
            leader.handle(event);
        } catch (RuntimeException | AssertionError e) {
            sim.invariants.schedulerThrew(this, Simulation.describe(event), e);
        }
        scheduleBatch();
    }

    private void timer(long delayNanos, SchedulerEvent event) {
        sim.at(sim.now() + delayNanos, () -> post(event));
    }

    /** Events that arrive at one instant form one burst: afterBatch runs once after them. */
    private void scheduleBatch() {
        if (batchPending) {
            return;
        }
        batchPending = true;
        sim.at(sim.now() + sim.batchDelay(), () -> {
            batchPending = false;
            if (state != State.DEAD) {
                try {
                    leader.afterBatch();
                } catch (RuntimeException | AssertionError e) {
                    sim.invariants.schedulerThrew(this, "afterBatch", e);
                }
            }
        });
    }

    void onOpen(SimLink link) {
        links.add(link);
        if (link.peer instanceof SimClient c) {
            post(new ClientConnected(c.id(), link));
        }
    }

    void onMessage(SimLink link, Message m) {
        if (state == State.DEAD) {
            return;
        }
        String peer = link.peer.id();
        if (link.peer instanceof SimExecutor) {
            if (m instanceof Register r) {
                sim.invariants.registered(this, peer);
                post(new ExecutorRegistered(peer, link, r));
            } else if (m instanceof TaskResults r) {
                post(new TasksFinished(peer, link, r));
            } else if (m instanceof StoredBlocks s) {
                post(new BlocksStored(peer, link, s));
            } else if (m instanceof Status s) {
                post(new ExecutorStatus(peer, link, s));
            } else {
                throw new IllegalStateException("executor sent " + m);
            }
        } else if (m instanceof SubmitJob j) {
            sim.trace(() -> name() + " plans job " + j.job());
            try {
                leader.submitJob(peer, link, j);
            } catch (RuntimeException | AssertionError e) {
                sim.invariants.schedulerThrew(this, "SubmitJob " + j.job(), e);
            }
            scheduleBatch();
        } else {
            SchedulerEvent e = WireEvents.fromClient(peer, m); // as the coordinator translates it
            if (e == null) {
                throw new IllegalStateException("client sent " + m);
            }
            post(e);
        }
    }

    void onLinkClosed(SimLink link) {
        links.remove(link);
        if (link.peer instanceof SimExecutor e) {
            post(new ExecutorLinkClosed(e.id(), link));
        } else {
            post(new ClientLinkClosed(link.peer.id(), link));
        }
    }

    /** Its ZooKeeper session expired: someone else leads now, but this process does not know yet. */
    void depose() {
        if (state == State.LEADING) {
            state = State.DEPOSED;
            deposedAt = sim.now();
        }
    }

    /** The process dies: its connections close, its timers never fire. */
    void die() {
        state = State.DEAD;
        for (SimLink link : new ArrayList<>(links)) {
            link.breakLink(name() + " died");
        }
        links.clear();
    }
}
