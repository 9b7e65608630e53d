package io.quiver.process;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;
import static org.awaitility.Awaitility.await;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.local.EmbeddedZooKeeper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A Quiver cluster of real processes for fault tests; thread-safe. A ZooKeeper server in this JVM
 * that can be stopped and started again on the same port and data directory, and coordinators and
 * executors each in a child JVM ({@code quiver coordinator|executor} under {@link TestingChildMain}), started
 * with this JVM's {@code java} and class path. Failures are caused for real: SIGKILL, SIGSTOP and
 * SIGCONT of a child, and a ZooKeeper outage.
 *
 * <pre>{@code
 * try (TestingProcessCluster cluster = TestingProcessCluster.builder("LeaderKillIT").coordinators(2).start();
 *      Quiver q = cluster.connect()) {
 *     String old = cluster.killLeader9();
 *     LeaderRecord next = cluster.awaitLeaderOtherThan(old, Duration.ofSeconds(20));
 * }
 * }</pre>
 *
 * <p>Ids are {@code coord-1..N} and {@code exec-1..M}; {@code coord-1} is the first leader. Each child
 * logs to {@code target/process-logs/<name>/<id>.log} (kept after the test); ZooKeeper's data and
 * the executors' work dirs live there too, as does {@link #markers()}. Sessions are short:
 * {@link #sessionTimeoutMillis()} is {@link Zk#SESSION_TIMEOUT_MILLIS} of this JVM (property
 * {@code quiver.zk.sessionTimeoutMs}, 4000 unless set before this class loads), and the children get
 * the same, so that the client in this JVM and the cluster agree.
 *
 * <p>{@link #close()} kills every child (SIGKILL) and stops ZooKeeper; children also go when this JVM
 * dies (a shutdown hook here, and their own watchdog on the stdin pipe). The methods that wait take
 * a bounded time and fail with what they saw. While ZooKeeper is stopped, {@link #leader()} and the
 * methods that read ZooKeeper fail after Curator's retries.
 */
public final class TestingProcessCluster implements AutoCloseable {
    static {
        // Before Zk's constants are read: tests want short sessions unless the build says otherwise.
        if (System.getProperty("quiver.zk.sessionTimeoutMs") == null) {
            System.setProperty("quiver.zk.sessionTimeoutMs", "4000");
        }
    }

    private static final String HOST = "127.0.0.1";
    private static final String ROOT = "/quiver";
    private static final long MIB = 1L << 20;
    private static final Duration START_WAIT = Duration.ofSeconds(90);
    private static final Duration EXIT_WAIT = Duration.ofSeconds(15);
    private static final Duration POLL = Duration.ofMillis(10);

    private final Builder settings;
    private final Path dir;
    private final Path zkDir;
    private final TestingMarkers markers;
    private final Thread shutdownHook = new Thread(this::killAllChildren, "testing-process-cluster-exit");
    private final Map<String, Child> children = new LinkedHashMap<>();
    /** Children killed on purpose: their death does not fail a wait. */
    private final Set<String> killed = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final List<Quiver> connections = new ArrayList<>();
    private final int sessionTimeoutMillis;

    private EmbeddedZooKeeper zk;
    private int zkPort;
    private ClusterUrl url;
    private CuratorFramework curator;
    private int nextExecutor = 1;
    private int nextCoordinator = 1;
    private boolean closed;

    /** One child JVM and its log. */
    private record Child(String id, Process process, Path log) {}

    private TestingProcessCluster(Builder settings) {
        this.settings = settings;
        this.sessionTimeoutMillis = Zk.SESSION_TIMEOUT_MILLIS;
        this.dir = Path.of(System.getProperty("quiver.processLogs", "target/process-logs")).resolve(settings.name)
                .toAbsolutePath();
        this.zkDir = dir.resolve("zookeeper");
        this.markers = new TestingMarkers(dir.resolve("markers"));
    }

    /** Settings for a cluster whose logs go to {@code target/process-logs/<name>/}; name it after the test. */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    private void start() {
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            if (Files.exists(dir)) {
                MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE); // logs of an earlier run
            }
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + dir, e);
        }
        markers.create();
        zk = newZooKeeper(0).start();
        zkPort = zk.port();
        url = ClusterUrl.parse("zk://" + HOST + ":" + zkPort + ROOT);
        curator = Zk.start(url, 15_000);

        // coord-1 leads first, so that tests know whom they kill; the rest start together.
        startCoordinator(nextCoordinatorId());
        awaitCondition("coord-1 to lead", START_WAIT, () -> {
            LeaderRecord leader = leader();
            return leader != null && leader.id().equals("coord-1");
        });
        for (int i = 2; i <= settings.coordinators; i++) {
            startCoordinator(nextCoordinatorId());
        }
        List<String> executors = new ArrayList<>();
        for (int i = 0; i < settings.executors; i++) {
            executors.add(startExecutor());
        }
        awaitCondition("every coordinator to join the election and every executor to register in ZooKeeper",
                START_WAIT, () -> latchIds().containsAll(coordinatorIds())
                        && children(ZkPaths.EXECUTORS).containsAll(executors));
        try (Quiver probe = Quiver.connect(url.toString())) {
            awaitCondition("the leader to list executors " + executors, START_WAIT,
                    () -> probe.cluster().executors().stream().map(ExecutorInfo::id).toList().containsAll(executors));
        }
    }

    // ------------------------------------------------------------------ what tests read

    /** {@code zk://127.0.0.1:<port>/quiver}, for {@link Quiver#connect(String)}. */
    public String url() {
        return url.toString();
    }

    /** The ZooKeeper session timeout of every process of the cluster and of clients in this JVM. */
    public int sessionTimeoutMillis() {
        return sessionTimeoutMillis;
    }

    /** The directory of the logs, markers, ZooKeeper data and executor work dirs. */
    public Path directory() {
        return dir;
    }

    /** Where tasks leave their markers; a directory every executor of this machine can write. */
    public TestingMarkers markers() {
        return markers;
    }

    /** A new client; closed with the cluster if the test does not close it. */
    public Quiver connect() {
        Quiver q = Quiver.connect(url.toString());
        synchronized (this) {
            connections.add(q);
        }
        return q;
    }

    /** {@code /leader} as ZooKeeper has it now, or {@code null} while there is none. */
    public LeaderRecord leader() {
        try {
            return LeaderRecord.parse(curator.getData().forPath(ZkPaths.LEADER));
        } catch (KeeperException.NoNodeException e) {
            return null;
        } catch (Exception e) {
            throw new QuiverException("cannot read " + ZkPaths.LEADER + " from ZooKeeper at " + url + ": " + e, e);
        }
    }

    /** The id in {@code /leader}, or {@code null} while there is none. */
    public String leaderId() {
        LeaderRecord leader = leader();
        return leader == null ? null : leader.id();
    }

    /** The epoch in {@code /leader}, or -1 while there is none. */
    public long epoch() {
        LeaderRecord leader = leader();
        return leader == null ? -1 : leader.epoch();
    }

    /** Waits until {@code /leader} holds a record that {@code wanted} accepts; returns it. */
    public LeaderRecord awaitLeader(String what, Duration atMost, Predicate<LeaderRecord> wanted) {
        LeaderRecord[] seen = new LeaderRecord[1];
        awaitCondition(what + " (last " + ZkPaths.LEADER + " seen: " + "%s)", atMost, () -> {
            LeaderRecord leader = leader();
            seen[0] = leader;
            return leader != null && wanted.test(leader);
        }, () -> String.valueOf(seen[0]));
        return seen[0];
    }

    /** Waits until {@code /leader} names a coordinator other than {@code oldId}; returns its record. */
    public LeaderRecord awaitLeaderOtherThan(String oldId, Duration atMost) {
        return awaitLeader("a leader other than " + oldId, atMost, r -> !r.id().equals(oldId));
    }

    /** Coordinator ids started (killed ones included), in start order. */
    public synchronized List<String> coordinatorIds() {
        return children.keySet().stream().filter(id -> id.startsWith("coord-")).toList();
    }

    /** Executor ids started (killed ones included), in start order. */
    public synchronized List<String> executorIds() {
        return children.keySet().stream().filter(id -> id.startsWith("exec-")).toList();
    }

    /** Executor ids whose process is alive. */
    public synchronized List<String> liveExecutorIds() {
        return executorIds().stream().filter(id -> child(id).process().isAlive()).toList();
    }

    /** The child's process. */
    public synchronized ProcessHandle process(String id) {
        return child(id).process().toHandle();
    }

    /** The child's pid (also the last part of its markers' names). */
    public long pid(String id) {
        return process(id).pid();
    }

    /** The id of the child with this pid, or {@code null}. */
    public synchronized String idOfPid(long pid) {
        return children.values().stream().filter(c -> c.process().pid() == pid).map(Child::id).findFirst().orElse(null);
    }

    /** The child's log file (stdout and stderr). */
    public synchronized Path log(String id) {
        return child(id).log();
    }

    /** How many lines of the child's log contain a match of {@code regex}. */
    public long logLines(String id, String regex) {
        Pattern pattern = Pattern.compile(regex);
        try (Stream<String> lines = Files.lines(log(id), StandardCharsets.UTF_8)) {
            return lines.filter(line -> pattern.matcher(line).find()).count();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + log(id), e);
        } catch (UncheckedIOException e) {
            // a line cut in the middle of a multi-byte character while the child writes
            throw new UncheckedIOException("cannot decode " + log(id), e.getCause());
        }
    }

    /** {@link #logLines} summed over the given children. */
    public long logLines(List<String> ids, String regex) {
        return ids.stream().mapToLong(id -> logLines(id, regex)).sum();
    }

    // ------------------------------------------------------------------ failures

    /**
     * SIGKILL of a child, waiting until the process is gone.
     *
     * @return {@link System#nanoTime()} just before the signal
     */
    public long kill9(String id) {
        Process process;
        synchronized (this) {
            process = child(id).process();
        }
        checkState(process.isAlive(), "%s (pid %s) is not alive", id, process.pid());
        killed.add(id);
        long at = System.nanoTime();
        process.destroyForcibly(); // SIGKILL on Unix
        try {
            checkState(process.waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS),
                    "%s (pid %s) still runs %s ms after SIGKILL", id, process.pid(), EXIT_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while killing " + id, e);
        }
        return at;
    }

    /** SIGKILL of the coordinator that {@code /leader} names; returns its id. */
    public String killLeader9() {
        String leader = leaderId();
        checkState(leader != null, "no %s record: no leader to kill", ZkPaths.LEADER);
        checkState(process(leader).isAlive(), "%s names %s, which is already dead (its session has not expired yet)",
                ZkPaths.LEADER, leader);
        kill9(leader);
        return leader;
    }

    /** SIGSTOP: the child freezes (its sockets stay open, its ZooKeeper session times out). */
    public void sigstop(String id) {
        signal("STOP", id);
    }

    /** SIGCONT after {@link #sigstop}. */
    public void sigcont(String id) {
        signal("CONT", id);
    }

    private void signal(String signal, String id) {
        long pid = pid(id);
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
            String out = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            checkState(kill.waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS) && kill.exitValue() == 0,
                    "kill -%s %s (%s) failed: %s", signal, pid, id, out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run kill -" + signal + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while sending SIG" + signal + " to " + id, e);
        }
    }

    /** Stops the ZooKeeper server; its data directory stays for {@link #startZooKeeper()}. */
    public synchronized void stopZooKeeper() {
        checkState(zk != null, "ZooKeeper is already stopped");
        zk.close();
        zk = null;
    }

    /** Starts ZooKeeper again on the same port with the same data (sessions and znodes as it left them). */
    public synchronized void startZooKeeper() {
        checkState(zk == null, "ZooKeeper already runs on port %s", zkPort);
        zk = newZooKeeper(zkPort).start();
    }

    /** Starts one more executor ({@code exec-<n>}) and waits until it is registered in ZooKeeper. */
    public String addExecutor() {
        String id = startExecutor();
        awaitCondition(id + " to register in ZooKeeper", START_WAIT, () -> children(ZkPaths.EXECUTORS).contains(id));
        return id;
    }

    /**
     * Starts one more coordinator ({@code coord-<n>}, a standby unless there is no leader) and waits until
     * it has joined the election.
     */
    public String addCoordinator() {
        String id = nextCoordinatorId();
        startCoordinator(id);
        awaitCondition(id + " to join the election", START_WAIT, () -> latchIds().contains(id));
        return id;
    }

    /** Coordinator ids whose process is alive. */
    public synchronized List<String> liveCoordinatorIds() {
        return coordinatorIds().stream().filter(id -> child(id).process().isAlive()).toList();
    }

    /** Kills every child and stops ZooKeeper. Idempotent. Logs, markers and data stay in {@link #directory()}. */
    @Override
    public void close() {
        List<Quiver> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            open = List.copyOf(connections);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting; the hook runs anyway
        }
        killAllChildren(); // first: a client closing against a frozen or dying cluster must not wait on it
        for (Quiver q : open) {
            try {
                q.close();
            } catch (RuntimeException e) {
                System.err.println("TestingProcessCluster: closing a client: " + e);
            }
        }
        for (Child c : childrenSnapshot()) {
            try {
                c.process().waitFor(EXIT_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (curator != null) {
            curator.close();
        }
        synchronized (this) {
            if (zk != null) {
                zk.close();
                zk = null;
            }
        }
    }

    @Override
    public String toString() {
        return "TestingProcessCluster[" + settings.name + ", " + url + ", " + childrenSnapshot().stream()
                .map(c -> c.id() + "=" + c.process().pid() + (c.process().isAlive() ? "" : "(dead)")).toList() + "]";
    }

    // ------------------------------------------------------------------ internals

    private EmbeddedZooKeeper newZooKeeper(int port) {
        return new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), port, zkDir, EmbeddedZooKeeper.LOCAL_TICK_MILLIS,
                EmbeddedZooKeeper.LOCAL_MAX_SESSION_MILLIS);
    }

    private void startCoordinator(String id) {
        launch(id, 384, List.of("coordinator", "--zk", url.toString(), "--id", id, "--host", HOST, "--port", "0"));
    }

    private synchronized String nextCoordinatorId() {
        return "coord-" + nextCoordinator++;
    }

    /** The coordinator ids of the leader latch's participants (a dead one's stay until its session expires). */
    private Set<String> latchIds() {
        Set<String> ids = new LinkedHashSet<>();
        for (String node : children(ZkPaths.LEADER_LATCH)) {
            try {
                ids.add(new String(curator.getData().forPath(ZkPaths.LEADER_LATCH + "/" + node), StandardCharsets.UTF_8));
            } catch (KeeperException.NoNodeException e) {
                // its owner's session just ended
            } catch (Exception e) {
                throw new QuiverException("cannot read " + ZkPaths.LEADER_LATCH + "/" + node + ": " + e, e);
            }
        }
        return ids;
    }

    private synchronized String startExecutor() {
        String id = "exec-" + nextExecutor++;
        Path workDir = dir.resolve(id + "-work");
        long heapMiB = (2 * settings.executorMemory + 256 * MIB) / MIB;
        launch(id, heapMiB, List.of("executor", "--zk", url.toString(), "--id", id, "--host", HOST, "--port", "0",
                "--slots", String.valueOf(settings.slotsPerExecutor), "--memory", String.valueOf(settings.executorMemory),
                "--work-dir", workDir.toString()));
        return id;
    }

    private synchronized void launch(String id, long heapMiB, List<String> quiverArgs) {
        checkState(!closed, "the cluster is closed");
        List<String> cmd = new ArrayList<>();
        cmd.add(javaCommand());
        cmd.add("-Xmx" + heapMiB + "m");
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        cmd.add("-XX:+UseSerialGC"); // 2 cores shared by several JVMs: no parallel GC threads fighting
        cmd.add("-Dquiver.zk.sessionTimeoutMs=" + sessionTimeoutMillis);
        cmd.add("-Dquiver.executorGraceMs=" + settings.executorGraceMillis);
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith("quiver.") && !key.equals("quiver.zk.sessionTimeoutMs")
                    && !key.equals("quiver.executorGraceMs") && !key.equals("quiver.processLogs")) {
                cmd.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        cmd.addAll(settings.jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(TestingChildMain.class.getName());
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        cmd.addAll(quiverArgs);
        Path log = dir.resolve(id + ".log");
        ProcessBuilder builder = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().remove("QUIVER_SECRET"); // no secret: everything on loopback
        try {
            Process process = builder.start(); // stdin stays a pipe: its EOF tells the child we are gone
            children.put(id, new Child(id, process, log));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + id + " with " + cmd.get(0), e);
        }
    }

    private void killAllChildren() {
        for (Child c : childrenSnapshot()) {
            c.process().destroyForcibly(); // also ends a SIGSTOPped child
        }
    }

    private synchronized List<Child> childrenSnapshot() {
        return List.copyOf(children.values());
    }

    private Child child(String id) {
        Child c = children.get(id);
        checkArgument(c != null, "no process '%s' in this cluster; it has %s", id, children.keySet());
        return c;
    }

    private Set<String> children(String path) {
        try {
            return new LinkedHashSet<>(curator.getChildren().forPath(path));
        } catch (KeeperException.NoNodeException e) {
            return Set.of();
        } catch (Exception e) {
            throw new QuiverException("cannot list " + path + " in ZooKeeper at " + url + ": " + e, e);
        }
    }

    private void awaitCondition(String what, Duration atMost, java.util.concurrent.Callable<Boolean> condition) {
        awaitCondition(what, atMost, condition, () -> "");
    }

    /** Waits for {@code condition}; fails naming it, the dead children and where their logs are. */
    private void awaitCondition(String what, Duration atMost, java.util.concurrent.Callable<Boolean> condition,
                                java.util.function.Supplier<String> seen) {
        try {
            await().atMost(atMost).pollInterval(POLL).ignoreExceptions().until(() -> {
                for (Child c : childrenSnapshot()) {
                    checkState(!closed, "the cluster was closed");
                    if (!c.process().isAlive() && !killed.contains(c.id())) {
                        // not ignored by ignoreExceptions: an AssertionError ends the wait at once
                        throw new AssertionError(c.id() + " (pid " + c.process().pid() + ") exited with code "
                                + c.process().exitValue() + " while waiting for " + what + "; see " + c.log());
                    }
                }
                return condition.call();
            });
        } catch (ConditionTimeoutException e) {
            String message = what.contains("%s") ? String.format(what, seen.get()) : what;
            throw new AssertionError("waited " + atMost.toMillis() + " ms for " + message + "; logs in " + dir, e);
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command()
                .filter(c -> Files.isExecutable(Path.of(c)))
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** What {@link #start()} starts. Defaults: 2 coordinators, 2 executors x 1 slot, 64 MiB each, 2 s grace. */
    public static final class Builder {
        private final String name;
        private int coordinators = 2;
        private int executors = 2;
        private int slotsPerExecutor = 1;
        private long executorMemory = 64 * MIB;
        private long executorGraceMillis = Long.getLong("quiver.executorGraceMs", 2_000);
        private final List<String> jvmArgs = new ArrayList<>();

        private Builder(String name) {
            checkArgument(name != null && name.matches("[A-Za-z0-9._-]+"),
                    "name must be letters, digits, '.', '_' or '-' (it names a directory), got '%s'", name);
            this.name = name;
        }

        public Builder coordinators(int n) {
            checkArgument(n >= 1 && n <= 5, "coordinators must be in [1, 5], got %s", n);
            this.coordinators = n;
            return this;
        }

        public Builder executors(int n) {
            checkArgument(n >= 1 && n <= 8, "executors must be in [1, 8], got %s", n);
            this.executors = n;
            return this;
        }

        public Builder slotsPerExecutor(int n) {
            checkArgument(n >= 1 && n <= 64, "slotsPerExecutor must be in [1, 64], got %s", n);
            this.slotsPerExecutor = n;
            return this;
        }

        /** Block store bytes per executor; the child's heap is twice this plus 256 MiB. */
        public Builder executorMemory(long bytes) {
            checkArgument(bytes >= MIB, "executorMemory must be >= 1 MiB, got %s bytes", bytes);
            this.executorMemory = bytes;
            return this;
        }

        /** {@code quiver.executorGraceMs} of the coordinators: how long an executor's link may stay down. */
        public Builder executorGraceMillis(long millis) {
            checkArgument(millis > 0, "executorGraceMillis must be > 0, got %s", millis);
            this.executorGraceMillis = millis;
            return this;
        }

        /** Extra JVM arguments for every child. */
        public Builder jvmArgs(String... args) {
            jvmArgs.addAll(List.of(args));
            return this;
        }

        /** Starts ZooKeeper, the coordinators ({@code coord-1} leading) and the executors; returns once all are in. */
        public TestingProcessCluster start() {
            TestingProcessCluster cluster = new TestingProcessCluster(this);
            try {
                cluster.start();
                return cluster;
            } catch (RuntimeException | Error e) {
                cluster.close();
                throw e;
            }
        }

    }
}
