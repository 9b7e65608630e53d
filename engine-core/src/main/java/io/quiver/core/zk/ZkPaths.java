package io.quiver.core.zk;

/** The cluster's znodes, relative to its root (DESIGN.md, ZooKeeper layout). */
public final class ZkPaths {
    public static final String LEADER_LATCH = "/leader-latch";
    public static final String LEADER = "/leader";
    public static final String EPOCH = "/epoch";
    public static final String EXECUTORS = "/executors";

    private ZkPaths() {}

    public static String executor(String id) {
        return EXECUTORS + "/" + id;
    }
}
