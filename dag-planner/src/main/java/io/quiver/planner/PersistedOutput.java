package io.quiver.planner;

/**
 * A persisted dataset computed by this job: output 0 of tasks {@code 0..partitions-1} of stage
 * {@code stageId} are its partitions. The runtime keeps them after the job and reports their refs
 * under {@code node}, the index of the persisted node in the logical plan.
 */
public record PersistedOutput(int node, int stageId, int partitions) {}
