package io.quiver.local;

import java.util.concurrent.CountDownLatch;

/**
 * A parent JVM for {@link LocalClusterProcessesIT}: starts a cluster with one child executor, prints
 * its temp dir ({@code DIR <path>}) and {@code CHILD <pid>}, and waits to be killed.
 */
public final class TestingParentMain {
    private TestingParentMain() {}

    public static void main(String[] args) throws InterruptedException {
        LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).separateProcesses(true)
                .executorMemory(16L << 20));
        System.out.println("DIR " + cluster.directory());
        System.out.println("CHILD " + cluster.executorProcess("exec-1").pid());
        System.out.flush();
        new CountDownLatch(1).await();
    }
}
