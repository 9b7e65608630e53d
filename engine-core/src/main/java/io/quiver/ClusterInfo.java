package io.quiver;

import java.util.List;

/**
 * A snapshot of the cluster: the leader, its epoch, the live executors and the leader's status page.
 *
 * @param leaderId the leading coordinator's id
 * @param epoch the leader's epoch; it rises with each leader change
 * @param executors the live executors
 * @param statusUrl the leader's HTTP address {@code http://host:port/} (status page, {@code /api/cluster},
 *     {@code /metrics}), or an empty string when the leader serves no HTTP port
 */
public record ClusterInfo(String leaderId, long epoch, List<ExecutorInfo> executors, String statusUrl) {
    /**
     * Copies {@code executors}.
     *
     * @param leaderId the leading coordinator's id
     * @param epoch the leader's epoch
     * @param executors the live executors
     * @param statusUrl the leader's HTTP address, or an empty string
     */
    public ClusterInfo {
        executors = List.copyOf(executors);
        statusUrl = statusUrl == null ? "" : statusUrl;
    }

    /**
     * A snapshot without a status page.
     *
     * @param leaderId the leading coordinator's id
     * @param epoch the leader's epoch
     * @param executors the live executors
     */
    public ClusterInfo(String leaderId, long epoch, List<ExecutorInfo> executors) {
        this(leaderId, epoch, executors, "");
    }
}
