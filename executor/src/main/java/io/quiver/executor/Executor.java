package io.quiver.executor;

import io.quiver.core.loop.EventLoop;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Pipelines.ServerSpec;
import io.quiver.core.net.Transport;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.BlockFailure;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Replicate;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.executor.block.BlockStore;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.zookeeper.CreateMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An executor process component: registers in ZooKeeper, follows the leader, runs tasks on its
 * slots, keeps a block store with a memory limit and serves and accepts blocks on its data port.
 *
 * <pre>
 *   ZooKeeper  /executors/&lt;id&gt; (ephemeral)      /leader (watched)
 *   leader     &lt;-- Register, TaskResults, StoredBlocks, Status --   LeaderLink  -- Launch, Drop (fenced) --> loop
 *                                                                               -- Replicate (fenced) --> Fetcher
 *   peers      &lt;-- PutChunk / Fetch -->  DataServer ; PeerLinks (forward, fetch) --> peers
 *   loop       TaskSlots (one thread) --> workers (slots threads) --> BlockStore
 * </pre>
 *
 * Lifecycle: the constructor does no I/O; {@link #start()} once; {@link #close()} is idempotent and
 * releases every thread, socket, znode, buffer and spill file; {@link #kill()} simulates a crash.
 * The public methods are thread-safe.
 */
public final class Executor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Executor.class);
    private static final long ZK_WAIT_MILLIS = 15_000;

    private enum State { NEW, STARTED, CLOSED }

    private final ExecutorConfig config;
    private final ClassLoader loader;
    private final EpochFence fence = new EpochFence();
    private final LongAdder tasksRun = new LongAdder();
    private final LongAdder bytesFetched = new LongAdder();
    private final LongAdder fetchRequests = new LongAdder();
    private final LongAdder functionsDeserialized = new LongAdder();
    private final AtomicLong sessions = new AtomicLong();
    private final java.util.concurrent.CompletableFuture<QuiverException> refused = new java.util.concurrent.CompletableFuture<>();
    /** Blocks being copied because the leader asked ({@link #replicate}): their failure is reported. */
    private final java.util.Set<RefId> replicating = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private State state = State.NEW;

    private ExecutorService io;
    private ExecutorService disk;
    private volatile BlockStore store;
    private Transport transport;
    private EventLoop loop;
    private TaskSlots slots;
    private TaskRunner runner;
    private LeaderLink leader;
    private PeerLinks peers;
    private DataServer data;
    private ExecutorMetrics metrics;
    private Fetcher fetcher;
    private ClientCodes codes;
    private Channel server;
    private volatile int port;
    private CuratorFramework zk;
    private PersistentNode znode;

    public Executor(ExecutorConfig config) {
        this.config = checkNotNull(config, "config");
        this.loader = config.classLoader() != null ? config.classLoader() : Executor.class.getClassLoader();
    }

    public String id() {
        return config.id();
    }

    public ExecutorConfig config() {
        return config;
    }

    /** What {@code /executors/<id>} holds; set once started. */
    private ExecutorRecord record;

    private ExecutorMetrics newMetrics() {
        BlockStore s = store;
        DataServer d = data;
        return new ExecutorMetrics(config.id(), config.host(), config.metricsPort())
                .counter("quiver_executor_tasks_total", "Tasks that ran here (succeeded or threw).", tasksRun::sum)
                .counter("quiver_executor_tasks_failed_total", "Tasks that threw here.", () -> runner.tasksFailed())
                .gauge("quiver_executor_tasks_queued", "Tasks launched here that wait for inputs or a slot.",
                        () -> slots.queued())
                .gauge("quiver_executor_memory_used_bytes", "Bytes of blocks held in memory.", s::memoryUsed)
                .gauge("quiver_executor_memory_limit_bytes", "The memory budget before spilling.", s::memoryLimit)
                .gauge("quiver_executor_blocks", "Blocks stored (in memory or spilled).", s::blockCount)
                .gauge("quiver_executor_receiving_bytes", "Bytes of blocks being received, counted as memory used.",
                        s::receivingBytes)
                .counter("quiver_net_budget_pauses_total", "Times a connection of this process stopped reading because"
                        + " it held its inbound budget (-Dquiver.net.inboundBudget) of unsettled input.",
                        Connection::budgetPauses)
                .gauge("quiver_net_unauthenticated_connections", "Inbound connections of this process that have not"
                        + " proven the cluster secret yet.", Pipelines::unauthenticatedConnections)
                .gauge("quiver_executor_disk_bytes", "Bytes of blocks that live only on disk now.", s::diskBytes)
                .counter("quiver_executor_spilled_bytes_total", "Bytes spilled to disk under memory pressure.",
                        s::spilledBytes)
                .counter("quiver_executor_data_sent_bytes_total", "Data-plane bytes sent: fetch replies and"
                        + " forwarded chunks.", d.bytesSent::sum)
                .counter("quiver_executor_data_received_bytes_total", "Data-plane bytes received: scattered chunks"
                        + " and fetched blocks.", () -> d.bytesReceived.sum() + bytesFetched.sum())
                .counter("quiver_executor_data_shared_bytes_total", "Bytes of blocks stored by mapping the host's one"
                        + " shared copy instead of receiving them.", d.bytesShared::sum)
                .counter("quiver_executor_stale_epoch_refused_total", "Leader commands refused because their epoch"
                        + " was older than the newest seen.", fence::refused)
                .gauge("quiver_executor_leader_epoch", "The newest leader epoch this executor has seen.", fence::newest);
    }

    /** The port of its Prometheus {@code /metrics}; valid once started. */
    public int metricsPort() {
        ExecutorMetrics m = metrics;
        return m == null ? 0 : m.port();
    }

    /** The data port; valid once started. */
    public int port() {
        checkState(port != 0, "executor %s has not started, so it has no port yet", config.id());
        return port;
    }

    /**
     * Binds the data server, registers {@code /executors/<id>} and starts following the leader
     * (connecting to it happens in the background). Returns once the port is bound and the znode
     * exists.
     *
     * @throws QuiverException if the host needs a secret, the port cannot be bound or ZooKeeper is unreachable
     */
    public synchronized void start() {
        checkState(state == State.NEW, "executor %s was already started (state %s); make a new one", config.id(), state);
        Pipelines.checkBindAllowed(config.host(), config.secret());
        state = State.STARTED;
        String name = "quiver-" + config.id();
        try {
            io = Executors.newCachedThreadPool(daemon(name + "-io"));
            disk = Executors.newSingleThreadExecutor(daemon(name + "-disk"));
            Path spillDir = config.workDir().resolve("blocks-" + config.id() + "-" + ProcessHandle.current().pid() + "-"
                    + Long.toHexString(System.nanoTime()));
            store = new BlockStore(spillDir, config.memoryLimit(), disk, ByteBufAllocator.DEFAULT);
            transport = new Transport(name, 2, config.tls()); // the data server and every link the executor opens
            loop = new EventLoop(name + "-loop");
            LinkedBlockingQueue<Task> handoff = new LinkedBlockingQueue<>();
            leader = new LeaderLink(config, () -> port, transport, fence, store, () -> slots.queued(),
                    launch -> loop.execute(() -> slots.launch(launch)), drop -> loop.execute(() -> slots.drop(drop)),
                    this::replicate, cancel -> loop.execute(() -> slots.cancel(cancel.tasks())), this::activity);
            leader.refusal().thenAccept(refused::complete);
            peers = new PeerLinks(config.id(), transport, config.secret(), fence::newest, io);
            fetcher = new Fetcher(config.id(), peers, store, bytesFetched, fetchRequests, ref -> {
                replicating.remove(ref);
                leader.stored(new BlockInfo(ref, store.size(ref)));
                loop.execute(() -> slots.blockArrived(ref));
            }, (ref, failure) -> {
                if (replicating.remove(ref)) {
                    leader.blockFailed(new BlockFailure(ref, failure.message()));
                }
                loop.execute(() -> slots.fetchFailed(ref, failure));
            });
            peers.fetcher(fetcher);
            slots = new TaskSlots(config.id(), config.slots(), store, handoff, leader, fetcher::fetch,
                    fetcher::fetchSlices, loop);
            codes = new ClientCodes(config.id(), config.workDir(), loader, io, disk, loop,
                    code -> loop.execute(() -> slots.codeReady(code)), code -> loop.execute(() -> slots.codeGone(code)));
            runner = new TaskRunner(config.id(), config.slots(), store, loader, handoff, leader, loop, slots, tasksRun,
                    functionsDeserialized);
            data = new DataServer(config.id(), store, peers, leader,
                    ref -> loop.execute(() -> slots.blockArrived(ref)), disk, codes);

            server = transport.bind(config.host(), config.port(), Pipelines.server(new ServerSpec(config.id(),
                    config.secret(), MessageCodec.DEFAULT_MAX_FRAME, fence::newest, sessions::incrementAndGet), data));
            port = ((InetSocketAddress) server.localAddress()).getPort();
            loop.start();
            runner.start();

            metrics = newMetrics();
            metrics.start();
            zk = Zk.start(config.cluster(), config.secret(), ZK_WAIT_MILLIS);
            ExecutorRecord record = new ExecutorRecord(config.id(), config.host(), port, config.slots(),
                    config.memoryLimit(), metrics.port(), false);
            this.record = record;
            znode = new PersistentNode(zk, CreateMode.EPHEMERAL, false, ZkPaths.executor(config.id()), record.toBytes());
            znode.start();
            if (!znode.waitForInitialCreate(ZK_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
                throw new QuiverException("executor " + config.id() + " could not create its node "
                        + ZkPaths.executor(config.id()) + " in ZooKeeper at " + config.cluster() + " within "
                        + ZK_WAIT_MILLIS + " ms");
            }
            leader.start(zk);
            // Hashed now, in the background, rather than when the first client offers its code and waits.
            codes.hashOwnClassPath();
            log.info("executor {} serving on {}:{} with {} slots and {} bytes of memory", config.id(), config.host(), port,
                    config.slots(), config.memoryLimit());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            state = State.CLOSED;
            shutdown(false);
            throw new QuiverException("interrupted while starting executor " + config.id(), e);
        } catch (RuntimeException | Error e) {
            state = State.CLOSED;
            shutdown(false);
            throw e;
        }
    }

    /**
     * Completes when a leader refused this executor for its secret: it cannot join the cluster with the
     * secret it has, so a process should stop and say so. Never completes otherwise.
     */
    public java.util.concurrent.CompletionStage<QuiverException> refusal() {
        return refused;
    }

    /**
     * The leader asks for copies of blocks this executor lacks (a broadcast that predates it): each
     * is fetched from a peer like a task input (one fetch, shared with any task waiting for it) and
     * reported as stored, or as failed once every peer given failed. Any thread.
     */
    private void replicate(Replicate r) {
        for (Replicate.Copy c : r.copies()) {
            if (store.contains(c.ref())) {
                leader.stored(new BlockInfo(c.ref(), store.size(c.ref())));
                continue;
            }
            replicating.add(c.ref());
            fetcher.fetch(c.ref(), c.from());
        }
    }

    /** The slots' snapshot, taken on their loop; called by the leader link before it registers. */
    private TaskSlots.Snapshot activity() {
        try {
            return java.util.concurrent.CompletableFuture.supplyAsync(() -> slots.snapshot(), loop)
                    .get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while registering executor " + config.id(), e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new QuiverException("executor " + config.id() + " could not read its own task slots: " + e, e);
        }
    }

    /**
     * True while no task waits here and no worker runs one: when a background job (HeapPretouch) may
     * use the CPU without taking it from a task. Any thread; false before {@link #start()}.
     */
    public boolean idle() {
        TaskRunner r = runner;
        TaskSlots s = slots;
        return r != null && s != null && s.queued() == 0 && r.workersWaiting();
    }

    /** The executor loop, for tests in this package that need it busy. */
    EventLoop loop() {
        return loop;
    }

    /** Counters; all zero before {@link #start()}. */
    public ExecutorStats stats() {
        BlockStore s = store;
        if (s == null) {
            return new ExecutorStats(tasksRun.sum(), bytesFetched.sum(), functionsDeserialized.sum(), 0, 0, 0, 0,
                    java.util.Map.of(), fetchRequests.sum());
        }
        return new ExecutorStats(tasksRun.sum(), bytesFetched.sum(), functionsDeserialized.sum(), s.memoryUsed(),
                s.blockCount(), s.spills(), slots == null ? 0 : slots.queued(), s.decodeCounts(), fetchRequests.sum());
    }

    /**
     * Not part of API.md (tests, diagnostics): clients whose code is here, how many of them have a
     * class loader of their own, and the jar bytes received so far.
     */
    public CodeStats codeStats() {
        ClientCodes c = codes;
        if (c == null) {
            return new CodeStats(0, 0, 0);
        }
        int[] n = c.counts();
        return new CodeStats(n[0], n[1], c.bytesReceived());
    }

    /** See {@link #codeStats()}. */
    public record CodeStats(int clients, int ownLoaders, long jarBytesReceived) {}

    /** The block store, for tests and diagnostics in this module. */
    BlockStore store() {
        return store;
    }

    /** How many times this executor registered with a leader (tests). */
    int registrations() {
        return leader == null ? 0 : leader.registrations();
    }

    /**
     * Stops gracefully: sends queued results, closes the leader connection, deletes the znode and
     * releases every thread, socket, buffer and spill file. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (state == State.STARTED) {
            state = State.CLOSED;
            shutdown(true);
            log.info("executor {} closed", config.id());
        }
        state = State.CLOSED;
    }

    /**
     * A simulated crash (LocalCluster.killExecutor): the ZooKeeper session and every connection
     * close abruptly, nothing more is sent, threads stop. Buffers and files are still released, so
     * the process that hosts it stays clean.
     */
    public synchronized void kill() {
        if (state == State.STARTED) {
            state = State.CLOSED;
            shutdown(false);
            log.info("executor {} killed", config.id());
        }
        state = State.CLOSED;
    }

    private void shutdown(boolean graceful) {
        if (graceful && zk != null && record != null) {
            // Tell the leader this is a departure, not a crash, before the connection and the node go.
            try {
                zk.setData().forPath(ZkPaths.executor(config.id()), record.leavingNow().toBytes());
            } catch (Exception e) {
                log.debug("could not mark {} as leaving: {}", ZkPaths.executor(config.id()), e.toString());
            }
        }
        if (metrics != null) {
            metrics.close();
        }
        if (leader != null) {
            if (graceful) {
                leader.close();
            } else {
                leader.kill();
            }
        }
        // Closed on kill too: a PersistentNode left running on a closed client retries forever.
        // Either way the session ends, so ZooKeeper drops the ephemeral node at once.
        if (znode != null) {
            try {
                znode.close();
            } catch (Exception e) {
                log.warn("could not delete {}: {}", ZkPaths.executor(config.id()), e.toString());
            }
        }
        if (zk != null) {
            zk.close();
        }

        if (server != null) {
            server.close().awaitUninterruptibly(2_000);
        }
        if (peers != null) {
            peers.close();
        }
        if (codes != null) {
            codes.close();
        }
        if (runner != null) {
            runner.stop(graceful ? 2_000 : 200);
        }
        if (loop != null) {
            loop.stop(1_000);
        }
        if (codes != null) {
            codes.all().forEach(ClientCode::close);
        }
        if (transport != null) {
            transport.close();
        }
        if (fetcher != null) {
            fetcher.close();
        }
        if (slots != null) {
            slots.releaseSlices();
        }
        if (io != null) {
            io.shutdownNow();
        }
        if (disk != null) {
            disk.shutdown();
            try {
                if (!disk.awaitTermination(5, TimeUnit.SECONDS)) {
                    disk.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (store != null) {
            store.close();
        }
    }

    private static ThreadFactory daemon(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public String toString() {
        return "executor " + config.id() + (port != 0 ? " at " + config.host() + ":" + port : "");
    }
}
