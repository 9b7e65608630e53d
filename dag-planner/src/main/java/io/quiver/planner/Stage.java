package io.quiver.planner;

import io.quiver.core.plan.StageFunction;
import io.quiver.core.task.TaskFunction;
import java.util.List;

/**
 * One stage of a {@link PhysicalPlan}: fused narrow operators over {@link #partitions()} tasks that
 * all run {@link #function()}. A stage may start once every stage in {@link #parents()} has
 * finished; stages that do not depend on each other may run at the same time.
 *
 * @param id the stage's index in {@link PhysicalPlan#stages()}
 * @param kind what the stage's tasks output
 * @param operators the fused operator names in plan order (the first ones read the stage's inputs)
 * @param sink what happens to the elements ("shuffle write for reduceByKey ...", "collect")
 * @param parents ids of the stages whose outputs this stage reads (shuffle or persist boundaries)
 * @param pinnedInputs the refs the stage reads where they already live
 * @param outputsPerTask how many outputs each task returns (1: a shuffle-map task returns all its
 *     buckets as one {@link io.quiver.core.plan.ShuffleOutput})
 * @param tasks one per partition, in partition order
 */
public record Stage(int id, Kind kind, List<String> operators, String sink, List<Integer> parents,
        List<PinnedInput> pinnedInputs, int outputsPerTask, StageFunction function, List<TaskSpec> tasks) {

    /** What a stage's tasks produce. */
    public enum Kind {
        /** One map output holding a bucket per reduce partition; the runtime drops them after the job. */
        SHUFFLE_MAP,
        /** A persisted dataset's partitions; the runtime keeps them after the job. */
        PERSIST,
        /** The final stage: one action value per partition, returned to the client. */
        RESULT
    }

    public Stage {
        operators = List.copyOf(operators);
        parents = List.copyOf(parents);
        pinnedInputs = List.copyOf(pinnedInputs);
        tasks = List.copyOf(tasks);
    }

    public int partitions() {
        return tasks.size();
    }

    /** The function every task of this stage runs. */
    public TaskFunction taskFunction() {
        return function;
    }
}
