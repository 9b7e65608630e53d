package io.quiver.coordinator.sched;

import io.quiver.core.protocol.Message;

/**
 * The wire messages that become scheduler events one to one. (A dataset job is planned before it
 * becomes an event, so {@code SubmitJob} is not here; the coordinator handles it.) Stateless.
 */
public final class WireEvents {
    private WireEvents() {}

    /** The event for a message from an executor, or null if executors do not send it. */
    public static SchedulerEvent fromExecutor(String executor, Link link, Message m) {
        if (m instanceof Message.Register r) {
            return new SchedulerEvent.ExecutorRegistered(executor, link, r);
        } else if (m instanceof Message.TaskResults r) {
            return new SchedulerEvent.TasksFinished(executor, link, r);
        } else if (m instanceof Message.StoredBlocks s) {
            return new SchedulerEvent.BlocksStored(executor, link, s);
        } else if (m instanceof Message.Status s) {
            return new SchedulerEvent.ExecutorStatus(executor, link, s);
        } else if (m instanceof Message.Goodbye) {
            return new SchedulerEvent.ExecutorLeaving(executor);
        }
        return null;
    }

    /** The event for a message from a client, or null if it is not one of these. */
    public static SchedulerEvent fromClient(String client, Message m) {
        if (m instanceof Message.Submit s) {
            return new SchedulerEvent.TasksSubmitted(client, s.fns(), s.tasks());
        } else if (m instanceof Message.Release r) {
            return new SchedulerEvent.RefsReleased(client, r.refs());
        } else if (m instanceof Message.Cancel x) {
            return new SchedulerEvent.TasksCancelled(client, x.refs());
        } else if (m instanceof Message.ReplicateRequest r) {
            return new SchedulerEvent.ReplicateRequested(client, r);
        } else if (m instanceof Message.Hold h) {
            return new SchedulerEvent.RefsHeld(client, h.refs());
        } else if (m instanceof Message.HoldPins p) {
            return new SchedulerEvent.RefsPinned(client, p.pins());
        } else if (m instanceof Message.ScatterRequest s) {
            return new SchedulerEvent.ScatterRequested(client, s);
        } else if (m instanceof Message.InfoRequest i) {
            return new SchedulerEvent.InfoRequested(client, i.reqId());
        } else if (m instanceof Message.Resume r) {
            return new SchedulerEvent.ClientResuming(client, r.end());
        } else if (m instanceof Message.Goodbye) {
            return new SchedulerEvent.ClientLeft(client);
        }
        return null;
    }
}
