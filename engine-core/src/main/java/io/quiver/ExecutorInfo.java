package io.quiver;

/**
 * One executor as the leader saw it when {@link Quiver#cluster()} was called.
 *
 * @param id the executor's id, as {@link Scatter#on(String...)} and {@link Ref#locations()} use it
 * @param host the address of its data server
 * @param port the port of its data server
 * @param slots how many tasks it runs at once
 * @param memoryUsed bytes its block store holds in memory
 * @param memoryLimit bytes its block store may hold before spilling to disk
 */
public record ExecutorInfo(String id, String host, int port, int slots, long memoryUsed, long memoryLimit) {}
