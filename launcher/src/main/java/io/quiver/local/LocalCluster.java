package io.quiver.local;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.core.client.QuiverClient;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.ZkPaths;
import io.quiver.coordinator.Coordinator;
import io.quiver.coordinator.CoordinatorConfig;
import io.quiver.executor.Executor;
import io.quiver.executor.ExecutorConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded Quiver cluster: a real ZooKeeper server, coordinators and executors, each with its own
 * Netty server on loopback, inside this JVM or (executors only, {@link Options#separateProcesses(boolean)})
 * as child JVMs. Every hop goes over ZooKeeper and TCP exactly as in a real cluster (API.md, section 1).
 *
 * <pre>{@code
 * try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
 *      Quiver q = cluster.connect()) {
 *     cluster.killExecutor(cluster.executorIds().get(0));   // simulated crash
 * }
 * }</pre>
 *
 * <p>{@link #start} returns once a leader is elected and every executor has registered with it.
 * {@link #close()} is idempotent and stops everything the cluster started: connections made by
 * {@link #connect()}, executors (child JVMs included), coordinators, ZooKeeper, and the cluster's temp
 * directory. Child JVMs also exit by themselves when this JVM dies. Thread-safe.
 */
public final class LocalCluster implements AutoCloseable {
    /** The cluster root (ZooKeeper chroot) of every local cluster; each has its own ZooKeeper server. */
    public static final String ROOT = "/quiver";
    /** Extra JVM arguments for child executors, whitespace-separated (e.g. GC or {@code --add-opens} flags). */
    public static final String CHILD_JVM_ARGS_PROPERTY = "quiver.executor.jvmArgs";
    /**
     * {@code false} starts child executors without {@link #COMPILER_DIRECTIVES}; so does a {@code
     * -XX:CompilerDirectivesFile} of one's own in {@link #CHILD_JVM_ARGS_PROPERTY}.
     */
    public static final String COMPILER_DIRECTIVES_PROPERTY = "quiver.executor.compilerDirectives";
    /**
     * The HotSpot compiler directives child executors start with (a resource of this jar, written into
     * the cluster's directory): Netty's event loops, channels, handlers and adaptive allocator, and
     * Quiver's own networking, wire and executor code, are compiled by C1 only, so that C2's time
     * goes to the user's functions, the codecs and the datasets. A cluster's first tiny-task jobs were
     * paid for by C2 compiling that plumbing: 2/3 of an executor's CPU in the first measured second
     * of a map of 10,000 tasks. Netty's {@code ByteBuf} classes stay with C2: a method C2 may not
     * compile, it may not inline either, and the codecs call them per element. See the README's
     * "Compiler directives for child executors".
     */
    static final String COMPILER_DIRECTIVES = "executor-compiler-directives.json";

    private static final Logger LOG = LoggerFactory.getLogger(LocalCluster.class);
    private static final String HOST = "127.0.0.1";
    private static final String CLI_MAIN = "io.quiver.cli.QuiverCli";
    private static final long MIB = 1L << 20;
    private static final long POLL_MILLIS = 20;
    private static final Duration CHILD_EXIT_WAIT = Duration.ofSeconds(10);

    private enum State { STARTING, STARTED, CLOSED }

    private final Settings settings;
    private final Secret secret;
    /** Read from {@link Settings#tls()} when the cluster boots; {@link Tls#NONE} without TLS. */
    private Tls tls = Tls.NONE;
    private final Thread shutdownHook = new Thread(this::cleanUpAtJvmExit, "quiver-local-cluster-exit");

    private volatile State state = State.STARTING;
    private Path dir;
    private EmbeddedZooKeeper zk;
    private ClusterUrl url;
    /** The session this cluster reads ZooKeeper through, without the chroot. */
    private CuratorFramework zkClient;
    /** {@link #zkClient} inside the cluster's root; not closed on its own. */
    private CuratorFramework curator;
    private final List<Coordinator> coordinators = new ArrayList<>();
    /** Child JVMs' class-data-sharing archive; null for in-process executors or a class path that does not qualify. */
    private ChildCds cds;
    private final Set<String> killedCoordinators = new LinkedHashSet<>();
    private final Map<String, Executor> inProcess = new LinkedHashMap<>();
    /** Read by the JVM-exit hook without locking, hence copy-on-write. */
    private final List<ChildExecutor> children = new CopyOnWriteArrayList<>();
    private final Set<String> liveExecutors = new LinkedHashSet<>();
    private int executorsStarted;
    private final List<Quiver> connections = new ArrayList<>();

    private LocalCluster(Settings settings) {
        this.settings = settings;
        this.secret = Secret.of(settings.secret());
    }

    /** A fresh set of options: 1 executor with 1 slot, 1 coordinator, in-process, no secret. */
    public static Options options() {
        return new Options();
    }

    /**
     * Starts a cluster and returns once its leader is elected and every executor has registered with it.
     *
     * @throws QuiverException if a part did not come up within {@link Options#startTimeout(Duration)}; the
     *     message names what was missing, and everything already started is stopped
     */
    public static LocalCluster start(Options options) {
        checkArgument(options != null, "options is null; pass LocalCluster.options()");
        checkArgument(!options.settings().shipClassPath() || options.settings().separateProcesses(),
                "shipClassPath(true) needs separateProcesses(true): in-process executors share this JVM's class"
                        + " loader, so nothing would be shipped");
        io.quiver.core.zk.Zk.warmUpInBackground(); // while ZooKeeper's server starts
        LocalCluster cluster = new LocalCluster(options.settings());
        try {
            cluster.boot();
            return cluster;
        } catch (RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    private void boot() {
        long startNanos = System.nanoTime();
        long deadline = startNanos + settings.startTimeout().toNanos();
        if (settings.tls() != null) {
            ConnectOptions.TlsFiles files = settings.tls();
            tls = Tls.fromPem(files.cert(), files.key(), files.trust()); // a bad file fails here, naming it
        }
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            dir = Files.createTempDirectory("quiver-local-");
        } catch (IOException e) {
            throw new QuiverException("cannot create a temp directory for the local cluster: " + e.getMessage()
                    + "; check java.io.tmpdir (" + System.getProperty("java.io.tmpdir") + ")", e);
        }
        zk = new EmbeddedZooKeeper(InetAddress.getLoopbackAddress(), 0, dir.resolve("zookeeper"),
                EmbeddedZooKeeper.LOCAL_TICK_MILLIS, EmbeddedZooKeeper.LOCAL_MAX_SESSION_MILLIS).withoutJmx().start();
        url = ClusterUrl.parse("zk://" + HOST + ":" + zk.port() + ROOT);
        // One session for the root and for this cluster's own reads: a second one cost start() its
        // connect and, closing the first, about 100 ms of waiting.
        zkClient = ClusterRoot.connect(url.connectString(), secret, remainingMillis(deadline));
        ClusterRoot.ensureExists(zkClient, url, secret);
        curator = zkClient.usingNamespace(url.root().substring(1));
        long zkUpNanos = System.nanoTime();

        for (int i = 1; i <= settings.coordinators(); i++) {
            Coordinator coordinator = new Coordinator(new CoordinatorConfig(url, "coord-" + i, HOST, 0, secret, 0, tls));
            coordinators.add(coordinator);
            coordinator.start();
        }
        await(deadline, List.of(), () -> readLeader() != null,
                () -> "no leader elected among coordinators " + coordinatorIds() + " (" + ZkPaths.LEADER + " is absent)");
        long leaderNanos = System.nanoTime();

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < settings.executors(); i++) {
            ids.add(nextExecutorId());
        }
        // Child JVMs boot concurrently; in-process executors start one after another.
        for (String id : ids) {
            launchExecutor(id);
        }
        awaitRegistered(deadline, ids);
        state = State.STARTED;
        long upNanos = System.nanoTime();
        LOG.info("local cluster up in {} ms (ZooKeeper {} ms, leader elected {} ms, executors registered {} ms):"
                + " ZooKeeper {}, leader {}, executors {} ({})", (upNanos - startNanos) / 1_000_000,
                (zkUpNanos - startNanos) / 1_000_000, (leaderNanos - zkUpNanos) / 1_000_000,
                (upNanos - leaderNanos) / 1_000_000, zk.connectString(), leaderId(), ids,
                settings.separateProcesses() ? "child JVMs" : "in-process");
    }

    /**
     * A new connection to this cluster, using its secret. The caller closes it; whatever is still open
     * when the cluster closes is closed with it.
     */
    public Quiver connect() {
        checkState(state == State.STARTED, "local cluster is %s; connect() needs a started cluster", state);
        Quiver q = QuiverClient.connect(url, clientOptions()); // may wait for the leader: not under the lock
        synchronized (this) {
            if (state != State.CLOSED) {
                connections.add(q);
                return q;
            }
        }
        q.close();
        throw new IllegalStateException("local cluster was closed while connect() ran");
    }

    /** The cluster's url, {@code zk://127.0.0.1:<port>/quiver}, which {@code Quiver.connect} accepts. */
    public String zkConnectString() {
        checkState(url != null, "local cluster is %s", state);
        return url.toString();
    }

    /**
     * Ids of the executors started (by {@link #start} or {@link #addExecutor()}) and not killed or
     * stopped, in start order ({@code exec-1}, {@code exec-2}, ...).
     */
    public synchronized List<String> executorIds() {
        return List.copyOf(liveExecutors);
    }

    /**
     * Starts one more executor, like those of {@link Options#executors(int)} (same slots and memory,
     * in-process or, with {@link Options#separateProcesses(boolean) separateProcesses(true)}, a child
     * JVM), and returns its id once the leader has registered it. Ids continue the sequence
     * ({@code exec-3} after two) and are never reused, not even those of killed executors.
     *
     * <p>Executors may join and leave at any time, jobs running or not. The leader places new
     * tasks on the newcomer at once, and copies every broadcast value to it from an executor that
     * holds one, in the background (data moves between executors, never through the client or
     * the coordinator). A broadcast's {@code Ref.locations()} lists the newcomer once its copy is
     * stored; a task placed there before that fetches the value from a peer. A value scattered
     * {@code Scatter.on(...)} other executors stays where it is, and so do the tasks that read it.
     *
     * @return the new executor's id
     * @throws QuiverException if it did not register with the leader within
     *     {@link Options#startTimeout(Duration)} (it is stopped again), or could not start at all
     */
    public String addExecutor() {
        String id;
        synchronized (this) {
            checkState(state == State.STARTED, "local cluster is %s; addExecutor needs a started cluster", state);
            id = nextExecutorId();
            launchExecutor(id);
        }
        try {
            // Not under the lock: registering takes a while, and other calls need not wait for it.
            awaitRegistered(System.nanoTime() + settings.startTimeout().toNanos(), List.of(id));
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                if (state == State.STARTED && liveExecutors.contains(id)) {
                    quietly("stop executor " + id + " after it failed to join", () -> stop(id, false));
                }
            }
            throw e;
        }
        LOG.info("executor {} joined the local cluster", id);
        return id;
    }

    /**
     * Stops an executor cleanly, as an operator stopping its process would: it finishes sending
     * what it has, closes its connections and deletes its ZooKeeper node, and the leader declares it
     * gone at once. What it held is then served or recomputed as after a crash
     * ({@link #killExecutor(String)}), without the wait for its grace period.
     */
    public synchronized void stopExecutor(String id) {
        checkState(state == State.STARTED, "local cluster is %s; stopExecutor needs a started cluster", state);
        checkArgument(id != null && liveExecutors.contains(id), "no live executor '%s' in this cluster; live ones are %s",
                id, liveExecutors);
        stop(id, true);
        LOG.info("stopped executor {}", id);
    }

    /**
     * Kills an executor abruptly: an in-process one as if it crashed ({@link Executor#kill()}), a child JVM
     * with SIGKILL, waiting until the process is gone. The cluster then notices the loss as it would any
     * crash.
     */
    public synchronized void killExecutor(String id) {
        checkState(state == State.STARTED, "local cluster is %s; killExecutor needs a started cluster", state);
        checkArgument(id != null && liveExecutors.contains(id), "no live executor '%s' in this cluster; live ones are %s",
                id, liveExecutors);
        stop(id, false);
        LOG.info("killed executor {}", id);
    }

    /** Under the lock: a clean stop, or a kill. */
    private void stop(String id, boolean graceful) {
        Executor executor = inProcess.get(id);
        if (executor != null) {
            if (graceful) {
                executor.close();
            } else {
                executor.kill();
            }
        } else if (graceful) {
            ChildExecutor child = child(id);
            child.requestExit();
            child.awaitExit(CHILD_EXIT_WAIT);
            childExited(id);
        } else {
            child(id).kill(CHILD_EXIT_WAIT);
            childExited(id);
        }
        liveExecutors.remove(id);
    }

    /** Under the lock (or while booting): the next executor id; ids are never reused. */
    private String nextExecutorId() {
        return "exec-" + (++executorsStarted);
    }

    /** Under the lock (or while booting): starts an executor; it registers in the background. */
    private void launchExecutor(String id) {
        if (settings.separateProcesses()) {
            children.add(ChildExecutor.launch(childCommand(id), dir.resolve(id + ".log"), id, settings.secret()));
        } else {
            Executor executor = new Executor(new ExecutorConfig(url, id, HOST, 0, settings.slotsPerExecutor(),
                    settings.executorMemory(), workDir(id), secret, userClassLoader(), 0, tls));
            inProcess.put(id, executor);
            liveExecutors.add(id);
            executor.start();
            return;
        }
        liveExecutors.add(id);
    }

    /** Waits until every one of {@code ids} is in ZooKeeper and the leader lists it among its executors. */
    private void awaitRegistered(long deadline, List<String> ids) {
        await(deadline, ids, () -> registeredInZooKeeper().containsAll(ids),
                () -> "executors " + missing(ids, registeredInZooKeeper()) + " did not register in ZooKeeper ("
                        + ZkPaths.EXECUTORS + ")");
        // The coordinators run in this JVM: ask the leader's scheduler, rather than connect a client to it.
        Set<String> seen = new LinkedHashSet<>();
        await(deadline, ids, () -> {
            seen.clear();
            LeaderRecord leader = readLeader();
            for (Coordinator c : coordinators) {
                if (leader != null && c.id().equals(leader.id())) {
                    seen.addAll(c.liveExecutors());
                }
            }
            return seen.containsAll(ids);
        }, () -> "leader " + leaderId() + " lists executors " + seen + " but not " + missing(ids, seen));
    }

    /**
     * Kills the current leader coordinator abruptly (its ZooKeeper session and sockets vanish, as in a
     * crash); a standby, if any ({@link Options#coordinators(int)}), takes over once the session expires.
     *
     * @return the id of the killed leader
     */
    public synchronized String killLeader() {
        checkState(state == State.STARTED, "local cluster is %s; killLeader needs a started cluster", state);
        String leader = leaderId();
        checkState(leader != null, "no leader to kill: %s is absent (a new leader may be being elected); "
                + "wait until leaderId() is not null", ZkPaths.LEADER);
        checkState(!killedCoordinators.contains(leader), "leader %s was already killed and its session has not expired "
                + "yet; wait until leaderId() names another coordinator", leader);
        Coordinator coordinator = coordinators.stream().filter(c -> c.id().equals(leader)).findFirst()
                .orElseThrow(() -> new IllegalStateException("leader '" + leader + "' is not one of this cluster's "
                        + "coordinators " + coordinatorIds()));
        coordinator.kill();
        killedCoordinators.add(leader);
        LOG.info("killed leader {}", leader);
        return leader;
    }

    /**
     * The leader's id as {@code /leader} in ZooKeeper has it, or {@code null} while there is none. Right
     * after {@link #killLeader()} it still names the killed leader until that one's session expires.
     */
    public String leaderId() {
        checkState(state != State.CLOSED, "local cluster is closed");
        LeaderRecord leader = readLeader();
        return leader == null ? null : leader.id();
    }

    /**
     * Not part of API.md (for tests): the {@link Executor} object of an in-process executor, killed ones
     * included, e.g. to read its stats.
     */
    public synchronized Executor executor(String id) {
        checkArgument(!settings.separateProcesses(), "executor %s runs in a child JVM (separateProcesses(true)); its "
                + "Executor object lives there; use executorProcess(id)", id);
        Executor executor = inProcess.get(id);
        checkArgument(executor != null, "no executor '%s' in this cluster; its executors are %s", id, inProcess.keySet());
        return executor;
    }

    /** Not part of API.md (for tests): the process of a child executor ({@code separateProcesses(true)}). */
    public ProcessHandle executorProcess(String id) {
        checkArgument(settings.separateProcesses(), "executor %s runs in this JVM; executorProcess(id) needs "
                + "separateProcesses(true)", id);
        return child(id).process().toHandle();
    }

    /** Not part of API.md: the cluster's temp directory (ZooKeeper data, executor work dirs and logs). */
    public Path directory() {
        checkState(dir != null, "local cluster is %s", state);
        return dir;
    }

    /** Stops everything this cluster started and deletes its temp directory. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (state == State.CLOSED) {
                return;
            }
            state = State.CLOSED;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is exiting; the hook runs anyway
        }
        List<Quiver> open;
        synchronized (this) {
            open = List.copyOf(connections);
            connections.clear();
        }
        open.forEach(q -> quietly("close a connection", q::close));
        for (ChildExecutor child : children) {
            child.requestExit(); // all at once, so that they shut down in parallel
        }
        inProcess.values().forEach(e -> quietly("close executor " + e.id(), e::close));
        for (ChildExecutor child : children) {
            quietly("stop child executor " + child.id(), () -> child.awaitExit(CHILD_EXIT_WAIT));
            childExited(child.id());
        }
        for (int i = coordinators.size() - 1; i >= 0; i--) {
            Coordinator c = coordinators.get(i);
            quietly("close coordinator " + c.id(), c::close);
        }
        if (zkClient != null) {
            quietly("close the ZooKeeper client", zkClient::close);
        }
        if (zk != null) {
            quietly("stop ZooKeeper", zk::close);
        }
        if (dir != null) {
            Files2.deleteRecursively(dir);
        }
    }

    @Override
    public String toString() {
        return "LocalCluster[" + (url == null ? "" : url + ", ") + state + ", executors " + executorIds() + "]";
    }

    // ---------------------------------------------------------------------------------------------

    /** At JVM exit without close(): children go (they would also see their stdin close), the temp dir too. */
    private void cleanUpAtJvmExit() {
        for (ChildExecutor child : children) {
            child.process().destroyForcibly();
        }
        if (dir != null) {
            Files2.deleteRecursively(dir);
        }
    }

    private void childExited(String id) {
        if (cds != null) {
            cds.exited(id);
        }
    }

    private List<String> childCommand(String id) {
        long heapMiB = (2 * settings.executorMemory() + 256 * MIB + MIB - 1) / MIB;
        List<String> cmd = new ArrayList<>();
        cmd.add(javaCommand());
        cmd.add("-Xmx" + heapMiB + "m");
        cmd.add("-XX:+ExitOnOutOfMemoryError");
        for (String key : System.getProperties().stringPropertyNames()) {
            // Never a secret on a command line (ps shows it): the child gets the cluster's in its environment.
            boolean secret = key.equals("quiver.secret") || key.equals("quiver.secretFile");
            if (key.startsWith("quiver.") && !key.equals(CHILD_JVM_ARGS_PROPERTY) && !secret
                    || key.equals("io.netty.leakDetection.level")) {
                cmd.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        String classPath = settings.shipClassPath() ? quiverClassPath() : System.getProperty("java.class.path");
        if (cds == null && children.isEmpty()) {
            cds = ChildCds.forClassPath(classPath);
        }
        if (cds != null) {
            cmd.addAll(cds.flags(id));
        }
        String extra = System.getProperty(CHILD_JVM_ARGS_PROPERTY, "").trim();
        if (!extra.matches(".*-XX:\\+Use\\w*GC.*")) {
            // Executors run batch work: the throughput collector beat G1 on every cluster benchmark
            // (sortByKey of 10 M rows 1.5 s against 2.3 s; the others equal or better), see README.
            cmd.add("-XX:+UseParallelGC");
        }
        if (!extra.contains("-Xms")) {
            // A heap that never shrinks: the parallel collector otherwise gives pages back after a
            // full collection and faults fresh ones in for the next large value (a 256 MiB broadcast
            // decoded per executor: gather of 200 tasks 0.8-1.8 s against 0.1-0.25 s), see README.
            cmd.add("-Xms" + heapMiB + "m");
        }
        if (!extra.contains("MetaspaceSize")) {
            // No collection for class metadata while it warms up: its classes fill the default
            // 21 MB threshold during the first jobs, and that young collection copied a 256 MiB
            // broadcast value still in eden (250 ms of the seed scenario's first gather), see README.
            cmd.add("-XX:MetaspaceSize=128m");
        }
        if (!extra.contains("CompilerDirectivesFile")
                && Boolean.parseBoolean(System.getProperty(COMPILER_DIRECTIVES_PROPERTY, "true"))) {
            cmd.add("-XX:+UnlockDiagnosticVMOptions");
            cmd.add("-XX:CompilerDirectivesFile=" + compilerDirectives());
        }
        if (!extra.isEmpty()) {
            cmd.addAll(List.of(extra.split("\\s+")));
        }
        cmd.add("-cp");
        cmd.add(classPath);
        cmd.add(CLI_MAIN);
        cmd.addAll(List.of("executor", "--zk", url.toString(), "--id", id, "--host", HOST, "--port", "0",
                "--slots", String.valueOf(settings.slotsPerExecutor()),
                "--memory", String.valueOf(settings.executorMemory()),
                "--work-dir", dir.resolve(id).toString(),
                "--parent-pid", String.valueOf(ProcessHandle.current().pid()), "--root-exists"));
        if (settings.tls() != null) {
            cmd.addAll(List.of("--tls-cert", settings.tls().cert().toAbsolutePath().toString(),
                    "--tls-key", settings.tls().key().toAbsolutePath().toString(),
                    "--tls-trust", settings.tls().trust().toAbsolutePath().toString()));
        }
        return cmd;
    }

    /**
     * Under the lock (or while booting), as {@link #childCommand}: {@link #COMPILER_DIRECTIVES} in this
     * cluster's directory, written there by the first child's start.
     */
    private Path compilerDirectives() {
        Path file = dir.resolve(COMPILER_DIRECTIVES);
        if (!Files.exists(file)) {
            try (java.io.InputStream in = LocalCluster.class.getResourceAsStream(COMPILER_DIRECTIVES)) {
                if (in == null) {
                    throw new QuiverException("resource " + COMPILER_DIRECTIVES + " is missing from Quiver's launcher jar;"
                            + " rebuild it, or set -D" + COMPILER_DIRECTIVES_PROPERTY + "=false");
                }
                Files.copy(in, file);
            } catch (IOException e) {
                throw new QuiverException("cannot write " + file + " for the child executors: " + e.getMessage()
                        + "; check java.io.tmpdir, or set -D" + COMPILER_DIRECTIVES_PROPERTY + "=false", e);
            }
        }
        return file;
    }

    /** Quiver's own class path, without this JVM's application classes (ClassPath.quiverOwn). */
    private static String quiverClassPath() {
        return String.join(java.io.File.pathSeparator,
                io.quiver.core.code.ClassPath.quiverOwn().stream().map(Path::toString).toList());
    }

    private Path workDir(String executorId) {
        try {
            return Files.createDirectories(dir.resolve(executorId));
        } catch (IOException e) {
            throw new QuiverException("cannot create work dir for executor " + executorId + " in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    static String javaCommand() {
        return ProcessHandle.current().info().command()
                .filter(c -> Files.isExecutable(Path.of(c)))
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    private ChildExecutor child(String id) {
        return children.stream().filter(c -> c.id().equals(id)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no child executor '" + id + "' in this cluster; its "
                        + "executors are " + children.stream().map(ChildExecutor::id).toList()));
    }

    private ConnectOptions clientOptions() {
        ConnectOptions options = ConnectOptions.defaults().secret(settings.secret());
        ConnectOptions.TlsFiles files = settings.tls();
        return files == null ? options : options.tls(files.cert(), files.key(), files.trust());
    }

    private static ClassLoader userClassLoader() {
        ClassLoader context = Thread.currentThread().getContextClassLoader();
        return context != null ? context : LocalCluster.class.getClassLoader();
    }

    private List<String> coordinatorIds() {
        return coordinators.stream().map(Coordinator::id).toList();
    }

    private LeaderRecord readLeader() {
        try {
            return LeaderRecord.parse(curator.getData().forPath(ZkPaths.LEADER));
        } catch (KeeperException.NoNodeException e) {
            return null;
        } catch (Exception e) {
            throw new QuiverException("cannot read " + ZkPaths.LEADER + " from the local ZooKeeper: " + e, e);
        }
    }

    private Set<String> registeredInZooKeeper() {
        try {
            return new LinkedHashSet<>(curator.getChildren().forPath(ZkPaths.EXECUTORS));
        } catch (KeeperException.NoNodeException e) {
            return Set.of();
        } catch (Exception e) {
            throw new QuiverException("cannot list " + ZkPaths.EXECUTORS + " in the local ZooKeeper: " + e, e);
        }
    }

    private static List<String> missing(List<String> expected, Set<String> present) {
        return expected.stream().filter(id -> !present.contains(id)).toList();
    }

    /**
     * Polls {@code ready} until it holds; fails naming what is missing, or at once if the child JVM
     * of one of the executors {@code starting} died.
     */
    private void await(long deadlineNanos, List<String> starting, BooleanSupplier ready, Supplier<String> whatIsMissing) {
        String what = state == State.STARTING ? "local cluster did not start" : "executors " + starting + " did not join";
        while (!ready.getAsBoolean()) {
            for (ChildExecutor child : children) {
                if (starting.contains(child.id())) {
                    child.checkAlive();
                }
            }
            if (state == State.CLOSED) {
                throw new QuiverException("local cluster was closed while starting " + (starting.isEmpty()
                        ? "its coordinators" : "executors " + starting));
            }
            if (System.nanoTime() - deadlineNanos > 0) {
                throw new QuiverException(what + " within " + settings.startTimeout().toMillis()
                        + " ms: " + whatIsMissing.get() + "; raise LocalCluster.options().startTimeout(...) on a "
                        + "slow machine" + (settings.separateProcesses() ? ", or see the executor logs in " + dir : ""));
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QuiverException("interrupted while starting the local cluster", e);
            }
        }
    }

    private static long remainingMillis(long deadlineNanos) {
        return Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    /** Runs one step of closing; a failing step is logged and the next ones still run. */
    private static void quietly(String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException | LinkageError | AssertionError e) {
            LOG.warn("local cluster: cannot {}: {}", what, e.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------

    /** An immutable snapshot of {@link Options}. */
    record Settings(int executors, int slotsPerExecutor, int coordinators, long executorMemory,
                    boolean separateProcesses, String secret, Duration startTimeout, boolean shipClassPath,
                    ConnectOptions.TlsFiles tls) {}

    /**
     * What {@link LocalCluster#start} starts. Each setter checks its argument and returns this builder.
     * Defaults: 1 executor with 1 slot, 1 coordinator, in-process, no secret, a 60 s start timeout, and
     * executor memory of 512 MiB (in-process: at most half this JVM's heap, shared among the executors).
     */
    public static final class Options {
        private int executors = 1;
        private int slotsPerExecutor = 1;
        private int coordinators = 1;
        private long executorMemory = 0; // 0: derived at start
        private boolean separateProcesses = false;
        private String secret = "";
        private Duration startTimeout = Duration.ofSeconds(60);
        private boolean shipClassPath = false;
        private ConnectOptions.TlsFiles tls;

        private Options() {}

        /** How many executors, 1 to 64. */
        public Options executors(int n) {
            checkArgument(n >= 1 && n <= 64, "executors must be in [1, 64], got %s", n);
            this.executors = n;
            return this;
        }

        /** Task slots per executor (tasks it runs at once), 1 to 1024. */
        public Options slotsPerExecutor(int n) {
            checkArgument(n >= 1 && n <= 1024, "slotsPerExecutor must be in [1, 1024], got %s", n);
            this.slotsPerExecutor = n;
            return this;
        }

        /** Coordinators: one leads, the others stand by for failover. 1 to 9. */
        public Options coordinators(int n) {
            checkArgument(n >= 1 && n <= 9, "coordinators must be in [1, 9] (one leader plus standbys), got %s", n);
            this.coordinators = n;
            return this;
        }

        /**
         * Bytes each executor's block store may hold in memory; at least 1 MiB. Child JVMs get a heap of
         * twice this plus 256 MiB.
         */
        public Options executorMemory(long bytes) {
            checkArgument(bytes >= MIB, "executorMemory must be >= 1 MiB (1048576 bytes), got %s bytes; "
                    + "e.g. executorMemory(512L << 20) for 512 MiB", bytes);
            this.executorMemory = bytes;
            return this;
        }

        /** Executors as child JVMs (the parent's java and class path) instead of inside this JVM. */
        public Options separateProcesses(boolean separate) {
            this.separateProcesses = separate;
            return this;
        }

        /**
         * With {@link #separateProcesses(boolean) separateProcesses(true)}: start child executors with
         * Quiver's own class path only (its modules and the jars of the class path), without this JVM's
         * class folders (application and test classes), so that user code reaches them only by
         * shipping, as on a real cluster (API.md, section 6). Default {@code false}: children get this
         * JVM's class path. In-process executors always share this JVM's class loader.
         *
         * @throws IllegalArgumentException at {@link LocalCluster#start} if set without separate processes
         */
        public Options shipClassPath(boolean ship) {
            this.shipClassPath = ship;
            return this;
        }

        /** The cluster secret: every connection then authenticates with it (HMAC handshake). */
        public Options secret(String secret) {
            checkArgument(secret != null && !secret.isBlank(),
                    "secret must be a non-blank string, got %s; leave it unset for a cluster without one",
                    secret == null ? "null" : "'" + secret + "'");
            this.secret = secret;
            return this;
        }

        /**
         * Not in API.md: mutual TLS on every connection of the cluster (coordinators, executors, child
         * executors and {@link LocalCluster#connect()}), all with this one certificate, e.g. the
         * node.pem, node-key.pem and ca.pem of {@code quiver tls-init}. The files are read at
         * {@link LocalCluster#start}.
         *
         * @param cert the PEM certificate chain
         * @param key its unencrypted PKCS#8 PEM key
         * @param trust the PEM certificate of the CA that signed it
         * @return this builder
         */
        public Options tls(Path cert, Path key, Path trust) {
            this.tls = new ConnectOptions.TlsFiles(cert, key, trust);
            return this;
        }

        /** Not in API.md: how long {@link LocalCluster#start} waits for everything to come up. */
        public Options startTimeout(Duration timeout) {
            checkArgument(timeout != null && !timeout.isNegative() && !timeout.isZero(),
                    "startTimeout must be positive, got %s", timeout);
            this.startTimeout = timeout;
            return this;
        }

        Settings settings() {
            long memory = executorMemory;
            if (memory == 0) {
                memory = 512 * MIB;
                if (!separateProcesses) {
                    memory = Math.max(16 * MIB, Math.min(memory, Runtime.getRuntime().maxMemory() / 2 / executors));
                }
            }
            return new Settings(executors, slotsPerExecutor, coordinators, memory, separateProcesses, secret,
                    startTimeout, shipClassPath, tls);
        }

        @Override
        public String toString() {
            return settings().toString().replaceFirst("secret=[^,]*", "secret=" + (secret.isEmpty() ? "none" : "***"));
        }
    }
}
