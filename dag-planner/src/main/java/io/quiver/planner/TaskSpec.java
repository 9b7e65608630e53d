package io.quiver.planner;

import java.util.List;

/**
 * One task of a stage: the partition it computes, its arguments for the stage's function, and the
 * executors it prefers (those holding its non-broadcast pinned inputs, most inputs first; empty
 * means no preference).
 */
public record TaskSpec(int partition, List<TaskInput> inputs, List<String> preferredExecutors) {
    public TaskSpec {
        inputs = List.copyOf(inputs);
        preferredExecutors = List.copyOf(preferredExecutors);
    }
}
