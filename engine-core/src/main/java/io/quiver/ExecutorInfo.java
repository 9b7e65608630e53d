package io.quiver;

/** One executor as the leader saw it when {@link Quiver#cluster()} was called. */
public record ExecutorInfo(String id, String host, int port, int slots, long memoryUsed, long memoryLimit) {}
