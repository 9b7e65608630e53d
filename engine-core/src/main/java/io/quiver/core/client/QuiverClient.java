package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.quiver.ClusterInfo;
import io.quiver.ClusterUnavailableException;
import io.quiver.Dataset;
import io.quiver.ExecutorInfo;
import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;
import io.quiver.InsufficientMemoryException;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.RefId;
import io.quiver.Scatter;
import io.quiver.core.codec.ArrayChunker;
import io.quiver.core.codec.Codec;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.net.Connection;
import io.quiver.core.net.Endpoint;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.client.dataset.DatasetImpl;
import io.quiver.core.client.dataset.JobResult;
import io.quiver.core.plan.LogicalPlan;
import java.util.HashMap;
import java.util.function.Function;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.task.TaskFunction;
import io.quiver.core.task.UserFunctions;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Quiver} behind {@code Quiver.connect("zk://...")}. Thread-safe: user threads call the
 * API; the leader connection's event loop completes refs. Submits are asynchronous: ref ids are
 * minted here, and tasks queued by any thread are sent as one {@link Submit} per event-loop turn.
 */
public final class QuiverClient implements Quiver {
    private static final Logger log = LoggerFactory.getLogger(QuiverClient.class);
    private static final Cleaner CLEANER = Cleaner.create();
    /** A function larger than this travels as a block on the data plane, not in a control message. */
    static final int LARGE_FUNCTION_BYTES = 1 << 20;

    private final ClusterUrl url;
    private final ClientOptions options;
    private final Codec codec = DefaultCodec.INSTANCE;
    private final String clientId;
    private final CuratorFramework zk;
    private final CuratorCache executorsCache;
    private final Transport transport;
    private final DataClient data;
    private final ExecutorService userExecutor;
    private final Map<RefId, RefState> refs = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<Message>> requests = new ConcurrentHashMap<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong fnIds = new AtomicLong();
    private final Object leaderLock = new Object();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile LeaderSession leader;
    private Runnable onClose = () -> {};
    private final ClientJobs jobs = new ClientJobs(this);
    private final java.util.Set<RefId> broadcasts = ConcurrentHashMap.newKeySet();

    // Submit batching: filled by any thread, drained on the leader channel's event loop.
    private final Object batchLock = new Object();
    private List<FnDef> batchFns = new ArrayList<>();
    private List<TaskSpec> batchTasks = new ArrayList<>();
    private List<RefId> batchReleases = new ArrayList<>();
    private boolean batchScheduled;

    /** One connection to one leader term. */
    private record LeaderSession(Connection connection, long session, long epoch, String leaderId) {}

    private QuiverClient(ClusterUrl url, ClientOptions options) {
        this.url = url;
        this.options = options;
        this.clientId = "client-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
        this.zk = Zk.start(url, options.connectTimeout().toMillis());
        this.executorsCache = CuratorCache.build(zk, ZkPaths.EXECUTORS);
        this.executorsCache.start();
        this.transport = new Transport("quiver-client", 2);
        this.data = new DataClient(transport, options.secret(), clientId);
        this.userExecutor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "quiver-client-callbacks");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Connects to the cluster's leader and checks that at least one executor is registered.
     *
     * @throws ClusterUnavailableException naming what was tried, if either is missing past the timeout
     */
    public static QuiverClient connect(ClusterUrl url, ClientOptions options) {
        QuiverClient client = new QuiverClient(url, options);
        try {
            client.leader();
            long deadline = System.nanoTime() + options.connectTimeout().toNanos();
            while (client.cluster().executors().isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new ClusterUnavailableException("leader " + client.leader().leaderId() + " at " + url
                            + " has no executors registered after " + options.connectTimeout().toMillis()
                            + " ms; start executors with `quiver executor --zk " + url + "`");
                }
                Thread.sleep(50);
            }
            return client;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            client.close();
            throw new ClusterUnavailableException("interrupted while connecting to " + url);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** Runs {@code hook} after this client closes (a local cluster stops with its Quiver). */
    public void onClose(Runnable hook) {
        this.onClose = hook;
    }

    Executor userExecutor() {
        return userExecutor;
    }

    // ------------------------------------------------------------------ leader connection

    /** The live leader session, connecting (or reconnecting after a leader change) if needed. */
    private LeaderSession leader() {
        LeaderSession s = leader;
        if (s != null && s.connection().isOpen()) {
            return s;
        }
        synchronized (leaderLock) {
            s = leader;
            if (s != null && s.connection().isOpen()) {
                return s;
            }
            checkNotClosed();
            long deadline = System.nanoTime() + options.connectTimeout().toNanos();
            String lastProblem = "no /leader znode";
            while (System.nanoTime() < deadline) {
                try {
                    byte[] bytes = zk.getData().forPath(ZkPaths.LEADER);
                    LeaderRecord rec = LeaderRecord.parse(bytes);
                    Connection c = Pipelines.connect(transport, rec.host(), rec.port(), options.secret(), Role.CLIENT,
                            clientId, rec.epoch(), MessageCodec.DEFAULT_MAX_FRAME, 5_000, new LeaderEndpoint());
                    s = new LeaderSession(c, c.session(), c.peerEpoch(), c.peerId());
                    leader = s;
                    return s;
                } catch (org.apache.zookeeper.KeeperException.NoNodeException e) {
                    lastProblem = "no leader has published itself at " + url + ZkPaths.LEADER;
                } catch (QuiverException e) {
                    lastProblem = e.getMessage();
                    if (e.getMessage() != null && e.getMessage().contains("refused")) {
                        throw new ClusterUnavailableException("the leader refused this client: " + e.getMessage()
                                + "; pass the cluster secret (QUIVER_SECRET or -Dquiver.secret)", e);
                    }
                } catch (Exception e) {
                    lastProblem = e.toString();
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            throw new ClusterUnavailableException("no leader reachable through " + url + " within "
                    + options.connectTimeout().toMillis() + " ms (" + lastProblem + "); start a coordinator with"
                    + " `quiver coordinator --zk " + url + "`");
        }
    }

    private final class LeaderEndpoint implements Endpoint {
        @Override
        public void onMessage(Connection c, Message m) {
            if (m instanceof RefsDone d) {
                for (RefDone r : d.refs()) {
                    RefState s = refs.get(r.ref());
                    if (s == null) {
                        continue;
                    }
                    if (r.failure() != null) {
                        s.fail(RefState.toException(r.ref(), r.failure()));
                    } else {
                        s.complete(r.size(), r.locations(), r.inline());
                    }
                }
            } else if (m instanceof ScatterPlan p) {
                complete(p.reqId(), p);
            } else if (m instanceof RequestFailed f) {
                complete(f.reqId(), f);
            } else if (m instanceof InfoReply i) {
                complete(i.reqId(), i);
            } else if (m instanceof Message.JobReply j) {
                // Register the job's refs before any RefsDone for them is read.
                for (RefId id : j.results()) {
                    refs.put(id, new RefState(id));
                }
                for (RefId id : j.persisted()) {
                    refs.put(id, new RefState(id));
                }
                complete(j.reqId(), j);
            } else {
                if (m instanceof Message.DataMessage dm) {
                    dm.data().release();
                }
                log.warn("unexpected {} from the leader", m.getClass().getSimpleName());
            }
        }

        @Override
        public void onClose(Connection c) {
            LeaderSession s = leader;
            if (s == null || s.connection() != c) {
                return;
            }
            String why = "leader " + s.leaderId() + " (epoch " + s.epoch() + ") went away";
            if (!closed.get()) {
                log.warn("{}; pending refs fail, new work goes to the next leader", why);
            }
            ClusterUnavailableException e = new ClusterUnavailableException(why
                    + " before this ref finished; submit it again (work survives a leader change in a later version)");
            for (RefState r : refs.values()) {
                if (!r.done.isDone()) {
                    r.fail(e);
                }
            }
            for (CompletableFuture<Message> f : requests.values()) {
                f.completeExceptionally(e);
            }
        }
    }

    private void complete(long reqId, Message m) {
        CompletableFuture<Message> f = requests.remove(reqId);
        if (f != null) {
            f.complete(m);
        }
    }

    private Message request(java.util.function.LongFunction<Message> build, String what) {
        LeaderSession s = leader();
        long reqId = requestIds.incrementAndGet();
        CompletableFuture<Message> f = new CompletableFuture<>();
        requests.put(reqId, f);
        Connection c = s.connection();
        if (!c.isOpen()) {
            // Closed between leader() and now: its close handler may already have run without us.
            f.completeExceptionally(new ClusterUnavailableException("the connection to leader " + s.leaderId()
                    + " closed before " + what + " was sent; try again"));
        } else {
            c.sendNow(build.apply(reqId));
            c.channel().closeFuture().addListener(x -> f.completeExceptionally(new ClusterUnavailableException(
                    "leader " + s.leaderId() + " (epoch " + s.epoch() + ") went away before answering " + what)));
        }
        try {
            return f.get(options.connectTimeout().toMillis() + 30_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new QuiverException(what + " failed", e.getCause());
        } catch (TimeoutException e) {
            throw new ClusterUnavailableException("the leader did not answer " + what + " in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted during " + what);
        } finally {
            requests.remove(reqId);
        }
    }

    // ------------------------------------------------------------------ refs

    private RefState newRef(LeaderSession s) {
        RefState state = new RefState(new RefId(s.session(), seq.incrementAndGet()));
        refs.put(state.id, state);
        return state;
    }

    private <T> RefImpl<T> handle(RefState state) {
        AtomicBoolean closedFlag = new AtomicBoolean();
        RefImpl<T> ref = new RefImpl<>(this, state, closedFlag);
        RefId id = state.id;
        CLEANER.register(ref, () -> {
            if (closedFlag.compareAndSet(false, true)) {
                release(id);
            }
        });
        return ref;
    }

    void release(RefId id) {
        refs.remove(id);
        broadcasts.remove(id);
        if (closed.get()) {
            return;
        }
        enqueue(null, null, id);
    }

    private RefImpl<?> own(Ref<?> ref, String what) {
        checkNotNull(ref, "%s: ref is null", what);
        if (!(ref instanceof RefImpl<?> r) || r.client != this) {
            throw new IllegalArgumentException(what + ": " + ref + " was created by a different Quiver; refs can"
                    + " only be used with the Quiver that made them");
        }
        r.checkOpen(what);
        return r;
    }

    @SuppressWarnings("unchecked")
    <T> T valueOf(RefImpl<T> ref, Duration timeout) {
        RefState s = ref.state;
        await(s, timeout);
        if (s.decoded) {
            return (T) s.value;
        }
        byte[] inline = s.inline;
        Object v;
        if (inline != null) {
            v = codec.fromBytes(inline, contextLoader());
        } else {
            ByteBuf buf = data.fetch(s.id, s.locations, locator());
            try {
                v = codec.decode(buf, contextLoader());
            } finally {
                buf.release();
            }
        }
        s.value = v;
        s.decoded = true;
        return (T) v;
    }

    private static void await(RefState s, Duration timeout) {
        try {
            if (timeout == null) {
                s.done.get();
            } else {
                s.done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                // Rethrow a fresh copy of the stack at the caller, keeping the type.
                re.addSuppressed(new QuiverException("waited for " + s.id + " here"));
                throw re;
            }
            throw new QuiverException("ref " + s.id + " failed", c);
        } catch (TimeoutException e) {
            throw new QuiverException("ref " + s.id + " not done within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while waiting for " + s.id, e);
        }
    }

    private static ClassLoader contextLoader() {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        return l != null ? l : QuiverClient.class.getClassLoader();
    }

    private java.util.function.Function<String, Peer> locator() {
        return id -> {
            ChildData node = executorsCache.get(ZkPaths.executor(id)).orElse(null);
            if (node == null) {
                return null;
            }
            ExecutorRecord r = ExecutorRecord.parse(node.getData());
            return new Peer(r.id(), r.host(), r.port());
        };
    }

    // ------------------------------------------------------------------ submit

    private void enqueue(FnDef fn, TaskSpec task, RefId release) {
        LeaderSession s = leader;
        boolean schedule;
        synchronized (batchLock) {
            if (fn != null) {
                batchFns.add(fn);
            }
            if (task != null) {
                batchTasks.add(task);
            }
            if (release != null) {
                batchReleases.add(release);
            }
            schedule = !batchScheduled;
            batchScheduled = true;
        }
        if (schedule) {
            if (s == null || !s.connection().isOpen()) {
                s = leader();
            }
            Connection c = s.connection();
            c.channel().eventLoop().execute(() -> flushBatch(c));
        }
    }

    private void flushBatch(Connection c) {
        List<FnDef> fns;
        List<TaskSpec> tasks;
        List<RefId> releases;
        synchronized (batchLock) {
            fns = batchFns;
            tasks = batchTasks;
            releases = batchReleases;
            batchFns = new ArrayList<>();
            batchTasks = new ArrayList<>();
            batchReleases = new ArrayList<>();
            batchScheduled = false;
        }
        if (!fns.isEmpty() || !tasks.isEmpty()) {
            c.sendNow(new Submit(fns, tasks));
        }
        if (!releases.isEmpty()) {
            c.sendNow(new Release(releases));
        }
    }

    private <R> Ref<R> submitTask(TaskFunction fn, String what, Ref<?>... inputs) {
        checkNotClosed();
        List<Arg> args = new ArrayList<>(inputs.length + 1);
        for (Ref<?> in : inputs) {
            args.add(Arg.ref(own(in, what).id()));
        }
        byte[] bytes = JavaSerialization.serialize(fn, "the function passed to " + what);
        LeaderSession s = leader();
        if (bytes.length > LARGE_FUNCTION_BYTES) {
            // Too large for a control message: ship it as a block, and read it there as input 0.
            Ref<byte[]> block = scatter(bytes, Scatter.single());
            args.add(0, Arg.ref(block.id()));
            fn = new LargeFunction();
            bytes = JavaSerialization.serialize(fn, what);
            Ref<R> result = enqueueTask(s, bytes, args);
            block.close(); // the pending task keeps it alive on the cluster
            return result;
        }
        return enqueueTask(s, bytes, args);
    }

    private <R> Ref<R> enqueueTask(LeaderSession s, byte[] fnBytes, List<Arg> args) {
        long fnId = fnIds.incrementAndGet();
        RefState out = newRef(s);
        enqueue(new FnDef(fnId, fnBytes, null), new TaskSpec(out.id, fnId, args), null);
        return handle(out);
    }

    @Override
    public <R> Ref<R> submit(Fn0<R> fn) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(new UserFunctions.Call0(fn), "submit");
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(new UserFunctions.Call1(fn), "submit", a);
    }

    @Override
    public <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(new UserFunctions.Call2(fn), "submit", a, b);
    }

    @Override
    public <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(new UserFunctions.Call3(fn), "submit", a, b, c);
    }

    @Override
    public <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items) {
        checkNotNull(fn, "map: function is null");
        checkNotNull(items, "map: items is null");
        return mapTasks(new UserFunctions.Call1(fn), items, null);
    }

    @Override
    public <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared) {
        checkNotNull(fn, "map: function is null");
        checkNotNull(items, "map: items is null");
        return mapTasks(new UserFunctions.Call2(fn), items, own(shared, "map"));
    }

    /** One function for all items: sent once, deserialized once per executor. */
    private <R> List<Ref<R>> mapTasks(TaskFunction fn, List<?> items, RefImpl<?> shared) {
        checkNotClosed();
        byte[] fnBytes = JavaSerialization.serialize(fn, "the function passed to map");
        checkArgument(fnBytes.length <= LARGE_FUNCTION_BYTES, "map: the function serializes to %s bytes (over 1 MiB):"
                + " it captures too much; scatter the large value and use map(fn, items, sharedRef)", fnBytes.length);
        // Items travel inline in the control message, except large ones: those go as blocks on the data plane.
        List<Arg> itemArgs = new ArrayList<>(items.size());
        List<Ref<?>> itemBlocks = new ArrayList<>();
        for (Object item : items) {
            ArrayChunker big = ArrayChunker.of(item);
            byte[] bytes = big == null ? codec.toBytes(item) : null;
            if (bytes == null || bytes.length > LARGE_FUNCTION_BYTES) {
                Ref<Object> block = scatter(item, Scatter.single());
                itemBlocks.add(block);
                itemArgs.add(Arg.ref(block.id()));
            } else {
                itemArgs.add(Arg.value(bytes));
            }
        }
        LeaderSession s = leader();
        long fnId = fnIds.incrementAndGet();
        List<Ref<R>> out = new ArrayList<>(items.size());
        List<TaskSpec> specs = new ArrayList<>(items.size());
        for (Arg item : itemArgs) {
            RefState r = newRef(s);
            List<Arg> args = shared == null ? List.of(item) : List.of(item, Arg.ref(shared.id()));
            specs.add(new TaskSpec(r.id, fnId, args));
            out.add(handle(r));
        }
        boolean schedule;
        synchronized (batchLock) {
            batchFns.add(new FnDef(fnId, fnBytes, null));
            batchTasks.addAll(specs);
            schedule = !batchScheduled;
            batchScheduled = true;
        }
        if (schedule) {
            Connection c = s.connection();
            c.channel().eventLoop().execute(() -> flushBatch(c));
        }
        itemBlocks.forEach(Ref::close); // released after the tasks that read them are queued
        return List.copyOf(out);
    }

    // ------------------------------------------------------------------ scatter

    @Override
    public <T> Ref<T> scatter(T value) {
        return scatter(value, Scatter.single());
    }

    @Override
    public <T> Ref<T> scatter(T value, Scatter options) {
        checkNotNull(options, "scatter: options are null; use Scatter.broadcast(), replicas(n) or on(ids)");
        checkNotClosed();
        ArrayChunker chunker = ArrayChunker.of(value);
        if (chunker != null) {
            // Large primitive arrays stream while they encode: no full-size copy before the first byte moves.
            return scatter(chunker.encodedSize(), options,
                    () -> new DataClient.ChunkSource() {
                        @Override
                        public boolean hasNext() {
                            return chunker.hasNext();
                        }

                        @Override
                        public ByteBuf next() {
                            return chunker.next(PooledByteBufAllocator.DEFAULT, MessageCodec.CHUNK_SIZE);
                        }
                    });
        }
        ByteBuf encoded;
        try {
            encoded = codec.encode(value, PooledByteBufAllocator.DEFAULT);
        } catch (io.quiver.NotSerializableException e) {
            throw new io.quiver.NotSerializableException("scatter: " + e.getMessage(), e.offendingClass(), e);
        }
        try {
            return scatter(encoded.readableBytes(), options, () -> DataClient.slices(encoded));
        } finally {
            encoded.release();
        }
    }

    /**
     * Asks the leader where a value of {@code size} bytes goes (it reserves memory there or refuses
     * before any byte moves), streams the chunks down the chain of targets, and waits until every
     * target has stored and verified its copy.
     */
    private <T> Ref<T> scatter(long size, Scatter options, java.util.function.Supplier<DataClient.ChunkSource> chunks) {
        LeaderSession s = leader();
        RefState state = newRef(s);
        byte mode = (byte) options.mode().ordinal();
        Message reply = request(reqId -> new ScatterRequest(reqId, state.id, size, mode, options.replicas(),
                options.executors()), "scatter");
        if (reply instanceof RequestFailed f) {
            refs.remove(state.id);
            throw switch (f.kind()) {
                case RequestFailed.INSUFFICIENT_MEMORY ->
                        new InsufficientMemoryException(f.message(), f.executorId(), f.free(), f.requested());
                case RequestFailed.UNAVAILABLE -> new ClusterUnavailableException(f.message());
                case RequestFailed.INVALID -> new IllegalArgumentException("scatter: " + f.message());
                default -> new QuiverException("scatter refused: " + f.message());
            };
        }
        RefImpl<T> ref = handle(state);
        if (options.mode() == Scatter.Mode.BROADCAST) {
            broadcasts.add(state.id);
        }
        data.put(state.id, size, chunks.get(), ((ScatterPlan) reply).targets());
        await(state, null);
        return ref;
    }

    // ------------------------------------------------------------------ gather

    @Override
    public <T> List<T> gather(List<? extends Ref<? extends T>> refs) {
        checkNotNull(refs, "gather: refs is null");
        List<RefImpl<?>> own = new ArrayList<>(refs.size());
        for (Ref<? extends T> r : refs) {
            own.add(own(r, "gather"));
        }
        // Start every fetch that is needed at once, then decode in order.
        List<CompletableFuture<?>> prefetch = new ArrayList<>();
        for (RefImpl<?> r : own) {
            RefState s = r.state;
            prefetch.add(s.done.thenComposeAsync(x -> x.inline != null || x.decoded
                    ? CompletableFuture.completedFuture(null)
                    : CompletableFuture.supplyAsync(() -> {
                        valueOf(r, null);
                        return null;
                    }, userExecutor), userExecutor));
        }
        List<T> out = new ArrayList<>(own.size());
        for (int i = 0; i < own.size(); i++) {
            @SuppressWarnings("unchecked")
            RefImpl<T> r = (RefImpl<T>) own.get(i);
            try {
                prefetch.get(i).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QuiverException("interrupted during gather");
            } catch (ExecutionException e) {
                // valueOf below raises the ref's own exception
            }
            out.add(valueOf(r, null));
        }
        return out;
    }

    @Override
    public <T> Iterable<Ref<T>> asCompleted(List<Ref<T>> refs) {
        checkNotNull(refs, "asCompleted: refs is null");
        LinkedBlockingQueue<Ref<T>> order = new LinkedBlockingQueue<>();
        for (Ref<T> r : refs) {
            RefImpl<?> own = own(r, "asCompleted");
            own.state.done.whenComplete((x, e) -> order.add(r));
        }
        int n = refs.size();
        return () -> new Iterator<>() {
            int taken;

            @Override
            public boolean hasNext() {
                return taken < n;
            }

            @Override
            public Ref<T> next() {
                if (taken >= n) {
                    throw new NoSuchElementException();
                }
                try {
                    Ref<T> r = order.take();
                    taken++;
                    return r;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new QuiverException("interrupted in asCompleted");
                }
            }
        };
    }

    // ------------------------------------------------------------------ cluster

    @Override
    public ClusterInfo cluster() {
        checkNotClosed();
        InfoReply r = (InfoReply) request(InfoRequest::new, "cluster info");
        List<ExecutorInfo> execs = r.executors().stream()
                .map(e -> new ExecutorInfo(e.id(), e.host(), e.port(), e.slots(), e.memoryUsed(), e.memoryLimit()))
                .toList();
        return new ClusterInfo(r.leaderId(), r.epoch(), execs);
    }

    // ------------------------------------------------------------------ datasets

    @Override
    public <T> Dataset<T> parallelize(List<T> items, int partitions) {
        checkNotClosed();
        return DatasetImpl.parallelize(jobs, items, partitions);
    }

    @Override
    public Dataset<Long> range(long fromInclusive, long toExclusive, int partitions) {
        checkNotClosed();
        return DatasetImpl.range(jobs, fromInclusive, toExclusive, partitions);
    }

    @Override
    public Dataset<String> textFile(String path, int minPartitions) {
        checkNotClosed();
        return DatasetImpl.textFile(jobs, path, minPartitions);
    }

    boolean isBroadcast(RefId id) {
        return broadcasts.contains(id);
    }

    /**
     * Ships a plan to the leader, which plans and runs it; returns at once a ref that completes
     * with {@code finish} applied to the final stage's outputs, fetched straight from executors.
     */
    <R> Ref<R> submitJob(LogicalPlan plan, Function<JobResult, R> finish) {
        checkNotClosed();
        byte[] bytes = plan.toBytes();
        JobReply reply = jobRequest(bytes, false);
        List<Ref<Object>> results = new ArrayList<>(reply.results().size());
        for (RefId id : reply.results()) {
            results.add(handle(refs.computeIfAbsent(id, RefState::new)));
        }
        Map<Integer, List<Ref<?>>> persisted = new HashMap<>();
        for (int i = 0; i < reply.persisted().size(); i++) {
            RefId id = reply.persisted().get(i);
            persisted.computeIfAbsent(reply.persistedNodes().get(i), k -> new ArrayList<>())
                    .add(handle(refs.computeIfAbsent(id, RefState::new)));
        }
        RefState out = newRef(leader());
        RefImpl<R> ref = handle(out);
        userExecutor.execute(() -> {
            boolean ok = false;
            try {
                List<Object> values = gather(results);
                R value = finish.apply(new JobResult(values, persisted));
                out.value = value;
                out.decoded = true;
                out.complete(-1, List.of(), null);
                ok = true;
            } catch (RuntimeException | Error e) {
                out.fail(e instanceof RuntimeException re ? re : new QuiverException("dataset job failed: " + e, e));
            } finally {
                results.forEach(Ref::close);
                if (!ok) {
                    persisted.values().forEach(list -> list.forEach(Ref::close));
                }
            }
        });
        return ref;
    }

    String explainJob(LogicalPlan plan) {
        checkNotClosed();
        return jobRequest(plan.toBytes(), true).explain();
    }

    private JobReply jobRequest(byte[] plan, boolean explainOnly) {
        RefId job = new RefId(leader().session(), seq.incrementAndGet());
        Message reply = request(reqId -> new SubmitJob(reqId, job, plan, explainOnly),
                explainOnly ? "explain" : "dataset job");
        if (reply instanceof RequestFailed f) {
            throw f.kind() == RequestFailed.INVALID ? new IllegalArgumentException(f.message())
                    : new QuiverException(f.message());
        }
        return (JobReply) reply;
    }

    private void checkNotClosed() {
        if (closed.get()) {
            throw new QuiverException("this Quiver is closed; connect again");
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        LeaderSession s = leader;
        if (s != null) {
            // The leader releases everything this client held; wait so queued writes go out first.
            s.connection().channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        ClusterUnavailableException e = new ClusterUnavailableException("the Quiver was closed");
        for (RefState r : refs.values()) {
            r.fail(e);
        }
        refs.clear();
        data.close();
        executorsCache.close();
        zk.close();
        transport.close();
        userExecutor.shutdownNow();
        onClose.run();
    }

    /** Runs a big function that came as a block: input 0 holds its serialized bytes. */
    static final class LargeFunction implements TaskFunction {
        private static final long serialVersionUID = 1L;

        @Override
        public Object[] run(Object[] args, io.quiver.core.task.TaskContext ctx) throws Exception {
            TaskFunction inner = (TaskFunction) JavaSerialization.deserialize((byte[]) args[0],
                    Thread.currentThread().getContextClassLoader());
            Object[] rest = new Object[args.length - 1];
            System.arraycopy(args, 1, rest, 0, rest.length);
            return inner.run(rest, ctx);
        }
    }
}
