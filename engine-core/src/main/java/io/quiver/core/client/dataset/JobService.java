package io.quiver.core.client.dataset;

import io.quiver.Ref;
import io.quiver.core.plan.LogicalPlan;
import java.util.function.Function;

/**
 * What a {@link DatasetImpl} needs from the client that made it: running jobs, explaining plans,
 * and telling the state of refs a pipeline pins. Implemented by the real client (one instance per
 * {@code Quiver}) and by a testing fake. Thread-safe: datasets call it from any user thread.
 *
 * <p>A job: the client ships {@link LogicalPlan#toBytes()} to the leader, which plans it with the
 * planner and runs the stages; the per-partition outputs of the final stage come back in partition
 * order (their form is given by {@link LogicalPlan#action()}, see {@link io.quiver.core.plan.Action}).
 * Persisted datasets computed by the job stay on the executors; the job reports their partition
 * refs so the dataset pins them in later jobs ({@link io.quiver.core.plan.LogicalNode#persisted}).
 */
public interface JobService {

    /** The state of a ref as this client sees it. */
    enum RefState {
        /** Made by this client's Quiver and not closed. */
        LIVE,
        /** Made by this client's Quiver and closed (released). */
        RELEASED,
        /** Not made by this client's Quiver (another instance, or not a Quiver ref at all). */
        FOREIGN
    }

    /** Identifies the Quiver instance; datasets of two instances cannot be combined. */
    long ownerId();

    /** Whether {@code ref} can be pinned by a pipeline of this client. Never throws. */
    RefState refState(Ref<?> ref);

    /** Whether {@code ref} (a LIVE ref) was scattered with {@code Scatter.broadcast()}. */
    boolean isBroadcast(Ref<?> ref);

    /**
     * Runs a job and waits for it. Throws what {@link Ref#result()} throws ({@code TaskFailedException},
     * {@code DataLostException}, {@code ClusterUnavailableException}, ...).
     */
    default JobResult run(LogicalPlan plan) {
        try (Ref<JobResult> ref = submit(plan, Function.identity())) {
            return ref.result();
        }
    }

    /**
     * Starts a job and returns at once a ref to {@code finish} applied to its result. {@code finish}
     * runs once, on any thread, when the job has succeeded; if it throws, the ref fails with that
     * exception. The returned ref's value lives wherever the implementation likes (the client is
     * fine); {@code locations()} may then be empty.
     */
    <R> Ref<R> submit(LogicalPlan plan, Function<JobResult, R> finish);

    /** The physical plan as text ({@code PhysicalPlan.explain()} on the leader's cluster view). */
    String explain(LogicalPlan plan);
}
