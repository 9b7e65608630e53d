package io.quiver;

import java.util.List;

/**
 * A snapshot of the cluster: the leader, its epoch and the live executors.
 *
 * @param leaderId the leading coordinator's id
 * @param epoch the leader's epoch; it rises with each leader change
 * @param executors the live executors
 */
public record ClusterInfo(String leaderId, long epoch, List<ExecutorInfo> executors) {
    /**
     * Copies {@code executors}.
     *
     * @param leaderId the leading coordinator's id
     * @param epoch the leader's epoch
     * @param executors the live executors
     */
    public ClusterInfo {
        executors = List.copyOf(executors);
    }
}
