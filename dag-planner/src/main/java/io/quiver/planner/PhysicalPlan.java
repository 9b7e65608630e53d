package io.quiver.planner;

import io.quiver.core.plan.Action;
import java.util.List;

/**
 * A planned job: stages in dependency order (every parent before its children), the last being the
 * result stage whose per-partition outputs answer the {@link #action()}. Immutable.
 *
 * <p>The runtime runs a stage's tasks once its parents are done, resolving each {@link TaskInput}
 * to a value: {@code Inline} as is, {@code Pinned} from the block store, {@code StageOutput} from
 * the outputs of the earlier stage's task, {@code ShuffleRead} as the map task's whole output, left
 * out when that map task wrote no rows for the bucket. Outputs of {@link Stage.Kind#SHUFFLE_MAP} stages can be
 * dropped after the job; outputs of {@link Stage.Kind#PERSIST} stages are the partitions of the
 * {@link #persistedOutputs()} and must be kept.
 */
public record PhysicalPlan(List<Stage> stages, Action action, List<PersistedOutput> persistedOutputs) {
    public PhysicalPlan {
        stages = List.copyOf(stages);
        persistedOutputs = List.copyOf(persistedOutputs);
    }

    public Stage stage(int id) {
        return stages.get(id);
    }

    public Stage finalStage() {
        return stages.get(stages.size() - 1);
    }

    /**
     * The plan as text, one block per stage:
     *
     * <pre>
     * stage 1 (result: collect)
     *   operators: reduceByKey -&gt; mapValues
     *   partitions: 4
     *   parents: stage 0 (shuffle: reduceByKey)
     *   pinned inputs: pinned broadcast ref-1-2, pinned on exec-1 ref-1-3
     *   preferred executors: tasks 0-3: exec-1
     * </pre>
     */
    public String explain() {
        StringBuilder sb = new StringBuilder(256 * stages.size());
        sb.append("physical plan: ").append(stages.size()).append(stages.size() == 1 ? " stage" : " stages")
                .append(", action ").append(action).append('\n');
        for (Stage s : stages) {
            sb.append("stage ").append(s.id()).append(" (").append(s.sink()).append(")\n");
            sb.append("  operators: ").append(String.join(" -> ", s.operators())).append('\n');
            sb.append("  partitions: ").append(s.partitions()).append('\n');
            sb.append("  parents: ");
            if (s.parents().isEmpty()) {
                sb.append("none");
            }
            for (int i = 0; i < s.parents().size(); i++) {
                Stage p = stages.get(s.parents().get(i));
                String edge = p.kind() == Stage.Kind.PERSIST ? "persisted partitions"
                        : "shuffle: " + p.function().sink().name();
                sb.append(i == 0 ? "" : ", ").append("stage ").append(p.id()).append(" (").append(edge).append(')');
            }
            sb.append('\n');
            sb.append("  pinned inputs: ");
            if (s.pinnedInputs().isEmpty()) {
                sb.append("none");
            }
            for (int i = 0; i < s.pinnedInputs().size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(s.pinnedInputs().get(i).describe());
            }
            sb.append('\n');
            sb.append("  preferred executors: ");
            appendPreferences(sb, s.tasks());
            sb.append('\n');
        }
        return sb.toString();
    }

    /** Runs of tasks with equal preferences: "tasks 0-3: exec-1; task 4: any". */
    private static void appendPreferences(StringBuilder sb, List<TaskSpec> tasks) {
        int start = 0;
        for (int i = 1; i <= tasks.size(); i++) {
            if (i < tasks.size() && tasks.get(i).preferredExecutors().equals(tasks.get(start).preferredExecutors())) {
                continue;
            }
            if (start > 0) {
                sb.append("; ");
            }
            sb.append(i - start == 1 ? "task " + start : "tasks " + start + "-" + (i - 1)).append(": ");
            List<String> pref = tasks.get(start).preferredExecutors();
            sb.append(pref.isEmpty() ? "any" : String.join(",", pref));
            start = i;
        }
    }

    @Override
    public String toString() {
        return "PhysicalPlan[" + stages.size() + " stages, " + action + "]";
    }
}
