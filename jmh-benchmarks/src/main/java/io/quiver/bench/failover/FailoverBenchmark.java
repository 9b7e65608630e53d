package io.quiver.bench.failover;

import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.process.TestingProcessCluster;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
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
 * session expires. The client submits right after the kill and, if that fails or is not answered
 * within 15 s, again until one completes, so that a client that waits for the next leader, one
 * that fails fast and one that loses the submit are all measured the same way (the iteration
 * prints how many attempts failed or went unanswered).
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
    /**
     * One submit's wait. Longer than any takeover should take (session + 2 s), short enough that a
     * submit that is never answered (as happened before failover kept work: the ref neither completed
     * nor failed) costs one attempt instead of the whole trial.
     */
    private static final Duration ATTEMPT = Duration.ofSeconds(15);
    private static final Duration RETRY_PAUSE = Duration.ofMillis(50);

    /** The ZooKeeper session of every process and of the client (a local ZooKeeper grants 0.2 to 10 s). */
    @Param({"4000", "10000"})
    int sessionTimeoutMs;

    TestingProcessCluster cluster;
    Quiver q;
    long epochBefore;
    int failedAttempts;
    int hungAttempts;

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
        hungAttempts = 0;
    }

    /** Kill the leader, then submit until one task completes: that one ran under the new leader. */
    @Benchmark
    public int killLeaderToFirstCompletion() {
        cluster.killLeader9();
        long deadline = System.nanoTime() + GIVE_UP.toNanos();
        while (true) {
            try {
                return q.submit(() -> 3).result(ATTEMPT);
            } catch (QuiverException e) {
                if (e.getCause() instanceof TimeoutException) {
                    hungAttempts++;
                } else {
                    failedAttempts++; // a client that fails fast: try again
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException("no task completed within " + GIVE_UP + " of the kill", e);
                }
                LockSupport.parkNanos(RETRY_PAUSE.toNanos()); // a user's retry; no tight loop on 2 cores
            }
        }
    }

    @TearDown(Level.Iteration)
    public void checkNewLeader() {
        long epoch = cluster.epoch();
        check(epoch > epochBefore, "a new epoch after the kill (" + epochBefore + " -> " + epoch + ")");
        System.out.printf("%n  failover to %s (epoch %d); before one completed, %d submits failed and %d were not "
                + "answered within %s%n", cluster.leaderId(), epoch, failedAttempts, hungAttempts, ATTEMPT);
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
