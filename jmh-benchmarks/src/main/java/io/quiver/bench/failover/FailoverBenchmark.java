package io.quiver.bench.failover;

import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.process.TestingProcessCluster;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of failover (issue 6): from {@code kill -9} of the leader coordinator's JVM to the first
 * task completed under the new leader. 2 coordinators and 2 executors x 1 slot, each its own JVM
 * (launcher's test fixture {@link TestingProcessCluster}: {@code LocalCluster} runs coordinators only in
 * its own JVM), ZooKeeper in the benchmark's JVM. Single shots: each one kills the leader; the next
 * iteration's setup starts a fresh standby, so that there are always two.
 *
 * <p>The floor is the ZooKeeper session timeout ({@code @Param}): a dead leader is noticed when its
 * session expires. The client submits right after the kill and, if that fails, again until one
 * completes, so that both a client that waits for the next leader and one that fails fast are
 * measured the same way.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar FailoverBenchmark -p sessionTimeoutMs=4000</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class FailoverBenchmark {
    private static final Duration GIVE_UP = Duration.ofSeconds(90);

    /** The ZooKeeper session of every process and of the client (a local ZooKeeper grants 0.2 to 10 s). */
    @Param({"4000", "10000"})
    int sessionTimeoutMs;

    TestingProcessCluster cluster;
    Quiver q;
    long epochBefore;
    int failedAttempts;

    @Setup(Level.Trial)
    public void startCluster() {
        // Read once per JVM (Zk.SESSION_TIMEOUT_MILLIS); JMH forks a JVM per @Param value.
        System.setProperty("quiver.zk.sessionTimeoutMs", Integer.toString(sessionTimeoutMs));
        System.setProperty("quiver.processLogs", System.getProperty("java.io.tmpdir") + "/quiver-bench-process-logs");
        cluster = TestingProcessCluster.builder("FailoverBenchmark-" + sessionTimeoutMs).coordinators(2).executors(2)
                .slotsPerExecutor(1).start();
        q = cluster.connect();
        check(q.submit(() -> 1).result(GIVE_UP) == 1, "a first task");
    }

    @Setup(Level.Iteration)
    public void twoCoordinators() {
        while (cluster.liveCoordinatorIds().size() < 2) {
            cluster.addCoordinator();
        }
        // The client works with the current leader before the kill (and has warmed up its path).
        check(q.submit(() -> 2).result(GIVE_UP) == 2, "a task before the kill");
        epochBefore = cluster.epoch();
        failedAttempts = 0;
    }

    /** Kill the leader, then submit until one task completes: that one ran under the new leader. */
    @Benchmark
    public int killLeaderToFirstCompletion() {
        cluster.killLeader9();
        long deadline = System.nanoTime() + GIVE_UP.toNanos();
        while (true) {
            try {
                return q.submit(() -> 3).result(GIVE_UP);
            } catch (QuiverException e) {
                failedAttempts++; // a client that fails fast: try again (today's behaviour)
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("no task completed within " + GIVE_UP + " of the kill", e);
                }
                Thread.onSpinWait();
            }
        }
    }

    @TearDown(Level.Iteration)
    public void checkNewLeader() {
        long epoch = cluster.epoch();
        check(epoch > epochBefore, "a new epoch after the kill (" + epochBefore + " -> " + epoch + ")");
        System.out.printf("%n  failover to %s (epoch %d); %d submits failed before one completed%n",
                cluster.leaderId(), epoch, failedAttempts);
    }

    @TearDown(Level.Trial)
    public void stopCluster() {
        cluster.close();
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException("FailoverBenchmark: expected " + what);
        }
    }
}
