package io.quiver.coordinator.sim;

import io.quiver.coordinator.sched.JobPlanning;
import io.quiver.coordinator.sched.Scheduler;
import io.quiver.coordinator.sched.SchedulerEvent;
import io.quiver.core.protocol.Message.SubmitJob;
import java.util.function.LongSupplier;

/**
 * The real scheduler, driven as the coordinator drives it: events in, one {@code afterBatch} per
 * burst, jobs planned against the published view before they become events. Confined to the
 * simulation thread.
 */
final class FacadeAdapter implements SimLeader {
    private final Scheduler scheduler;
    FacadeAdapter(String leaderId, long epoch, LongSupplier nanoTime, Timers timers) {
        this.scheduler = new Scheduler(leaderId, epoch, nanoTime, timers::after);
    }

    @Override
    public void handle(SchedulerEvent event) {
        scheduler.handle(event);
    }

    @Override
    public void submitJob(String client, io.quiver.coordinator.sched.Link link, SubmitJob job) {
        JobPlanning.Planned planned = JobPlanning.plan(client, job, scheduler.view());
        if (planned.event() != null) {
            scheduler.handle(planned.event());
        } else {
            link.send(planned.reply());
        }
    }

    @Override
    public void afterBatch() {
        scheduler.afterBatch();
    }
}
