package io.quiver;

import java.util.List;

/** A snapshot of the cluster: the leader, its epoch and the live executors. */
public record ClusterInfo(String leaderId, long epoch, List<ExecutorInfo> executors) {
    public ClusterInfo {
        executors = List.copyOf(executors);
    }
}
