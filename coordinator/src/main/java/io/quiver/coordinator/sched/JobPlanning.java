package io.quiver.coordinator.sched;

import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.protocol.Message;
import io.quiver.planner.ClusterView;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Planner;
import io.quiver.planner.Stage;
import java.util.ArrayList;
import java.util.List;

/**
 * What happens to a client's {@code SubmitJob} before it reaches the scheduler loop: decoding,
 * planning against the scheduler's published view, serializing the stage functions. Stateless and
 * thread-safe; the coordinator calls it on the client's connection (so a job keeps its place among
 * that client's messages), a simulation on its own thread.
 */
public final class JobPlanning {
    private JobPlanning() {}

    /** Either the event to post to the loop, or a reply to send the client at once (explain, or a refusal). */
    public record Planned(SchedulerEvent.JobSubmitted event, Message reply) {}

    public static Planned plan(String client, Message.SubmitJob job, ClusterView view) {
        try {
            PhysicalPlan plan = Planner.plan(LogicalPlan.fromBytes(job.plan()), view);
            if (job.explainOnly()) {
                return new Planned(null, new Message.JobReply(job.reqId(), List.of(), List.of(), List.of(), plan.explain()));
            }
            List<byte[]> functions = new ArrayList<>(plan.stages().size());
            for (Stage stage : plan.stages()) {
                functions.add(JavaSerialization.serialize(stage.taskFunction(), "stage " + stage.id()));
            }
            return new Planned(new SchedulerEvent.JobSubmitted(client, job.reqId(), job.job(), plan, functions), null);
        } catch (RuntimeException e) {
            return new Planned(null, new Message.RequestFailed(job.reqId(), Message.RequestFailed.INVALID,
                    "invalid dataset job: " + e.getMessage(), null, 0, 0));
        }
    }
}
