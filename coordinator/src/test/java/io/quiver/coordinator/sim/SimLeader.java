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
 * <p>The one implementation today is {@link TodaySchedulerAdapter}, a temporary mapping onto the
 * scheduler as it is before the failover rewrite. Against the facade of issue 6 the adapter shrinks
 * to this:
 *
 * <pre>{@code
 * final class FacadeAdapter implements SimLeader {
 *     private final Scheduler scheduler;
 *     FacadeAdapter(String id, long epoch, LongSupplier clock, Timers timers) {
 *         scheduler = new Scheduler(id, epoch, clock, timers::after);
 *     }
 *     public void handle(SchedulerEvent e) { scheduler.handle(e); }
 *     public void afterBatch() { scheduler.afterBatch(); }
 *     public void submitJob(String client, SubmitJob job) {
 *         // what the coordinator does off the loop: plan against the view, serialize stage functions
 *         PhysicalPlan plan = Planner.plan(LogicalPlan.fromBytes(job.plan()), scheduler.view(...));
 *         scheduler.handle(new JobSubmitted(client, job.reqId(), job.job(), plan, stageFunctions(plan)));
 *     }
 * }
 * }</pre>
 */
interface SimLeader {

    void handle(SchedulerEvent event);

    /**
     * A client's {@code SubmitJob}: the coordinator plans it off the loop and posts
     * {@link SchedulerEvent.JobSubmitted}; today's scheduler plans it itself.
     */
    void submitJob(String client, SubmitJob job);

    /** Placement, launch and the flush of batched messages, once per burst of events. */
    void afterBatch();

    /** The scheduler's timers (grace periods, recovery and orphan deadlines) on the fake clock. */
    interface Timers {
        void after(long delayNanos, SchedulerEvent event);
    }

    interface Factory {
        SimLeader create(String leaderId, long epoch, LongSupplier nanoTime, Timers timers);
    }

    /** The scheduler under test. Switch this line (and delete the adapter) when the facade lands. */
    Factory SCHEDULER = TodaySchedulerAdapter::new;
}
