package io.quiver.coordinator.sim;

import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.core.protocol.Message.SubmitJob;
import java.util.function.LongSupplier;

/**
 * The leader's scheduler as the simulation drives it: confined to the simulation's single thread,
 * like the real scheduler is to its loop. The harness posts {@link SchedulerEvent}s and calls
 * {@link #afterBatch()} once per burst; the scheduler answers through the {@code Link}s it was
 * given and arms timers through {@link Timers}, which the simulation fires on its fake clock.
 *
 * <p>The implementation is {@link FacadeAdapter}: the real scheduler, as the coordinator drives it.
 */
interface SimLeader {

    void handle(SchedulerEvent event);

    /**
     * A client's {@code SubmitJob}: the coordinator plans it off the loop and posts
     * {@link SchedulerEvent.JobSubmitted}, or answers at once on {@code link}.
     */
    void submitJob(String client, io.quiver.coordinator.sched.Link link, SubmitJob job);

    /** Placement, launch and the flush of batched messages, once per burst of events. */
    void afterBatch();

    /** The scheduler's timers (grace periods, recovery and orphan deadlines) on the fake clock. */
    interface Timers {
        void after(long delayNanos, SchedulerEvent event);
    }

    interface Factory {
        SimLeader create(String leaderId, long epoch, LongSupplier nanoTime, Timers timers);
    }

    /** The scheduler under test. */
    Factory SCHEDULER = FacadeAdapter::new;
}
