package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import io.netty.buffer.ByteBuf;
import io.quiver.ClusterInfo;
import io.quiver.ClusterUnavailableException;
import io.quiver.ConnectOptions;
import io.quiver.Dataset;
import io.quiver.ExecutorInfo;
import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.RefId;
import io.quiver.Scatter;
import io.quiver.core.client.dataset.DatasetImpl;
import io.quiver.core.client.dataset.JobResult;
import io.quiver.core.code.ClassPath;
import io.quiver.core.code.CodeJars;
import io.quiver.core.codec.ArrayChunker;
import io.quiver.core.codec.Codec;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.net.Transport;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.InfoReply;
import io.quiver.core.protocol.Message.InfoRequest;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.Message.Peer;
import io.quiver.core.protocol.Message.RequestFailed;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskOptions;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.core.task.TaskFunction;
import io.quiver.core.task.UserFunctions;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.ExecutorRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe; user threads call it, and it never blocks the session loop. The {@link Quiver} behind
 * {@code Quiver.connect("zk://...")}: a facade over the {@link LeaderSession} (the leader
 * connection, batching, failover and resume, on one loop), the {@link RefTable}, the
 * {@link Scatterer} and the {@link DataClient} (fetches). Submits are asynchronous: ref ids are minted
 * here, and tasks queued by any thread go out as one Submit per loop turn, or to the next leader.
 */
public final class QuiverClient implements Quiver {
    private static final Logger log = LoggerFactory.getLogger(QuiverClient.class);
    private static final Cleaner CLEANER = Cleaner.create();
    /** A function larger than this travels as a block on the data plane, not in a control message. */
    static final int LARGE_FUNCTION_BYTES = 1 << 20;

    private final Codec codec = DefaultCodec.INSTANCE;
    private final CuratorFramework zk;
    private final CuratorCache executorsCache;
    private final Transport transport;
    private final DataClient data;
    private final ExecutorService userExecutor;
    /** Console progress of waits (API.md section 7); {@link ConsoleProgress#OFF} off a terminal. */
    private final ConsoleProgress progress;
    private final RefTable refs = new RefTable();
    private final LeaderSession session;
    private final Scatterer scatterer;
    private final ClientJobs jobs = new ClientJobs(this);
    private final AtomicLong fnIds = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final String clientId;
    private volatile CodeShipper code;
    private Runnable onClose = () -> {};

    private QuiverClient(ClusterUrl url, ConnectOptions options, Tls tls, CuratorFramework zk) {
        String clientId = "client-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
        this.clientId = clientId;
        Secret secret = Secret.of(options.secret().orElse(null));
        this.zk = zk;
        this.executorsCache = CuratorCache.build(zk, ZkPaths.EXECUTORS);
        this.transport = new Transport("quiver-client", 2, tls);
        this.data = new DataClient(transport, secret, clientId);
        this.session = new LeaderSession(url, secret, clientId, options.failoverTimeout(), transport, refs);
        this.progress = ConsoleProgress.forClient(options.progress());
        this.scatterer = new Scatterer(codec, refs, session, data);
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
    public static QuiverClient connect(ClusterUrl url, ConnectOptions options) {
        checkArgument(options != null, "options are null; pass ConnectOptions.defaults()");
        // Read the TLS files first: a bad one is a clear error before anything is opened.
        Tls tls = options.tls().map(f -> Tls.fromPem(f.cert(), f.key(), f.trust())).orElse(Tls.NONE);
        List<java.nio.file.Path> entries = codeEntries(options);
        QuiverClient client = new QuiverClient(url, options, tls,
                Zk.start(url, Secret.of(options.secret().orElse(null)), options.connectTimeout().toMillis()));
        // Hash the jars (SHA-256 of each, 75 ms for 24 MB in a cold JVM) while ZooKeeper connects.
        CompletableFuture<List<io.quiver.core.code.CodeJar>> jars =
                CompletableFuture.supplyAsync(() -> CodeJars.of(entries), client.userExecutor);
        try {
            client.executorsCache.start();
            client.session.start(client.zk);
            client.session.awaitFirstSession(options.connectTimeout());
            long deadline = System.nanoTime() + options.connectTimeout().toNanos();
            while (client.cluster().executors().isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new ClusterUnavailableException("the leader at " + url + " has no executors registered after "
                            + options.connectTimeout().toMillis() + " ms; start executors with `quiver executor --zk "
                            + url + "`");
                }
                Thread.sleep(50);
            }
            client.shipCode(jars, deadline);
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

    /** The class path entries to ship: checked here, before anything is opened. */
    private static List<java.nio.file.Path> codeEntries(ConnectOptions options) {
        List<java.nio.file.Path> entries = new ArrayList<>();
        if (options.shipClassPath()) {
            entries.addAll(ClassPath.application());
        }
        for (java.nio.file.Path jar : options.jars()) {
            if (!java.nio.file.Files.exists(jar)) {
                throw new IllegalArgumentException("ConnectOptions.jars: " + jar.toAbsolutePath() + " does not exist;"
                        + " build it first, or fix the path" + (options.jars().size() > 1 ? " (jars " + options.jars()
                        + ")" : "") + (System.getProperty(ConnectOptions.JARS_PROPERTY) != null ? "; -D"
                        + ConnectOptions.JARS_PROPERTY + "=" + System.getProperty(ConnectOptions.JARS_PROPERTY) : ""));
            }
        }
        entries.addAll(ClassPath.expand(options.jars()));
        return entries;
    }

    /**
     * Ships this client's code (DESIGN.md, "User code") to every registered executor and waits until
     * each has it, so that no task of this client starts before its classes are there; executors that
     * register later get it in the background (their tasks wait for it). An executor that refuses the
     * code fails the connect; one that cannot be reached is left to the cluster's failure handling.
     */
    private void shipCode(CompletableFuture<List<io.quiver.core.code.CodeJar>> jars, long deadlineNanos)
            throws InterruptedException {
        CodeShipper shipper;
        try {
            shipper = new CodeShipper(refs.owner(), clientId, jars.get(), userExecutor);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new QuiverException(e.getCause().toString(), e);
        }
        code = shipper;
        data.code(shipper);
        executorsCache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, node) -> {
                    if (!closed.get() && node.getPath().startsWith(ZkPaths.EXECUTORS + "/")) {
                        userExecutor.execute(() -> shipInBackground(ExecutorRecord.parse(node.getData())));
                    }
                })
                .build());
        long totalBytes = shipper.jars().stream().mapToLong(io.quiver.core.code.CodeJar::size).sum();
        // Bounded by the connect timeout plus time for the bytes at a slow 10 MB/s.
        long bound = Math.max(0, deadlineNanos - System.nanoTime()) + totalBytes * 100;
        long shipDeadline = System.nanoTime() + Math.max(bound, 5_000_000_000L);
        Map<String, CompletableFuture<Void>> pending = new HashMap<>();
        for (ExecutorInfo e : cluster().executors()) {
            try {
                pending.put(e.id(), shipper.shipOn(data.connection(new Peer(e.id(), e.host(), e.port()))));
            } catch (QuiverException ex) {
                log.warn("cannot reach executor {} at {}:{} to ship this client's code: {}", e.id(), e.host(), e.port(),
                        ex.getMessage());
            }
        }
        for (Map.Entry<String, CompletableFuture<Void>> p : pending.entrySet()) {
            try {
                p.getValue().get(Math.max(1, shipDeadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (ExecutionException ex) {
                Throwable cause = ex.getCause();
                if (cause.getMessage() != null && cause.getMessage().contains("refused this client's code")) {
                    throw new QuiverException(cause.getMessage(), cause);
                }
                log.warn("could not ship this client's code to executor {}: {}", p.getKey(), cause.getMessage());
            } catch (java.util.concurrent.TimeoutException ex) {
                throw new ClusterUnavailableException("executor " + p.getKey() + " did not receive this client's code ("
                        + shipper.jars().size() + " jars, " + totalBytes + " bytes) in time; check that it is alive,"
                        + " or ship less with ConnectOptions.shipClassPath(false).jars(...)");
            }
        }
    }

    private void shipInBackground(ExecutorRecord r) {
        CodeShipper shipper = code;
        if (shipper == null || closed.get()) {
            return;
        }
        try {
            shipper.shipOn(data.connection(new Peer(r.id(), r.host(), r.port()))).whenComplete((x, e) -> {
                if (e != null && !closed.get()) {
                    log.warn("could not ship this client's code to executor {}: {}", r.id(), e.getMessage());
                }
            });
        } catch (RuntimeException e) {
            if (!closed.get()) {
                log.warn("cannot reach executor {} at {}:{} to ship this client's code: {}", r.id(), r.host(), r.port(),
                        e.getMessage());
            }
        }
    }

    /** Not part of API.md (tests, benchmarks): jar bytes this client has sent to executors. */
    public long codeBytesShipped() {
        CodeShipper s = code;
        return s == null ? 0 : s.bytesSent();
    }

    /** Not part of API.md (tests, diagnostics): this client's id, as executors name it in messages. */
    public String clientId() {
        return clientId;
    }

    /** Runs {@code hook} after this client closes (a local cluster stops with its Quiver). */
    public void onClose(Runnable hook) {
        this.onClose = hook;
    }

    Executor userExecutor() {
        return userExecutor;
    }

    // ------------------------------------------------------------------ refs

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
        if (!closed.get()) {
            session.release(id);
            data.released(id);
        }
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
        try {
            return decodedValue(ref.state, timeout);
        } finally {
            // The ref must stay reachable while its value is awaited: once only its state is used,
            // the JIT may let it be collected, and its cleaner would release it (the leader would
            // then drop or cancel what this call waits for, and the wait would never end).
            java.lang.ref.Reference.reachabilityFence(ref);
        }
    }

    @SuppressWarnings("unchecked")
    private <T> T decodedValue(RefState s, Duration timeout) {
        s.await(timeout);
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

    private static ClassLoader contextLoader() {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        return l != null ? l : QuiverClient.class.getClassLoader();
    }

    private Function<String, Peer> locator() {
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

    private <R> Ref<R> submitTask(TaskOptions options, TaskFunction fn, String what, Ref<?>... inputs) {
        checkNotClosed();
        List<Arg> args = new ArrayList<>(inputs.length + 1);
        for (Ref<?> in : inputs) {
            args.add(Arg.ref(own(in, what).id()));
        }
        byte[] bytes = io.quiver.core.task.CompactFunctions.encode(fn);
        if (bytes == null || bytes.length > LARGE_FUNCTION_BYTES) {
            bytes = JavaSerialization.serialize(fn, "the function passed to " + what);
        }
        if (bytes.length > LARGE_FUNCTION_BYTES) {
            // Too large for a control message: ship it as a block, and read it there as input 0.
            Ref<byte[]> block = scatter(bytes, Scatter.single());
            args.add(0, Arg.ref(block.id()));
            Ref<R> result = enqueueTask(JavaSerialization.serialize(new LargeFunction(), what), args, options);
            block.close(); // the pending task keeps it alive on the cluster
            return result;
        }
        return enqueueTask(bytes, args, options);
    }

    private <R> Ref<R> enqueueTask(byte[] fnBytes, List<Arg> args, TaskOptions options) {
        long fnId = fnIds.incrementAndGet();
        RefState out = refs.mint();
        session.submit(List.of(new FnDef(fnId, fnBytes, null)), List.of(new TaskSpec(out.id, fnId, args, options)));
        return handle(out);
    }

    @Override
    public <R> Ref<R> submit(Fn0<R> fn) {
        return submit(TaskOptions.NONE, fn);
    }

    <R> Ref<R> submit(TaskOptions options, Fn0<R> fn) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(options, new UserFunctions.Call0(fn), "submit");
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a) {
        return submit(TaskOptions.NONE, fn, a);
    }

    <A, R> Ref<R> submit(TaskOptions options, Fn1<A, R> fn, Ref<A> a) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(options, new UserFunctions.Call1(fn), "submit", a);
    }

    @Override
    public <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b) {
        return submit(TaskOptions.NONE, fn, a, b);
    }

    <A, B, R> Ref<R> submit(TaskOptions options, Fn2<A, B, R> fn, Ref<A> a, Ref<B> b) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(options, new UserFunctions.Call2(fn), "submit", a, b);
    }

    @Override
    public <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c) {
        return submit(TaskOptions.NONE, fn, a, b, c);
    }

    <A, B, C, R> Ref<R> submit(TaskOptions options, Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c) {
        checkNotNull(fn, "submit: function is null");
        return submitTask(options, new UserFunctions.Call3(fn), "submit", a, b, c);
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<List<A>, R> fn, List<? extends Ref<? extends A>> inputs) {
        return submit(TaskOptions.NONE, fn, inputs);
    }

    <A, R> Ref<R> submit(TaskOptions options, Fn1<List<A>, R> fn, List<? extends Ref<? extends A>> inputs) {
        checkNotNull(fn, "submit: function is null");
        checkNotNull(inputs, "submit: the list of input refs is null");
        for (int i = 0; i < inputs.size(); i++) {
            checkNotNull(inputs.get(i), "submit: input ref %s of the list is null", i);
        }
        return submitTask(options, new UserFunctions.CallList(fn), "submit", inputs.toArray(new Ref<?>[0]));
    }

    @Override
    public <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items) {
        return map(TaskOptions.NONE, fn, items);
    }

    <T, R> List<Ref<R>> map(TaskOptions options, Fn1<T, R> fn, List<T> items) {
        checkNotNull(fn, "map: function is null");
        checkNotNull(items, "map: items is null");
        return mapTasks(new UserFunctions.Call1(fn), items, null, options);
    }

    @Override
    public <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared) {
        return map(TaskOptions.NONE, fn, items, shared);
    }

    <T, A, R> List<Ref<R>> map(TaskOptions options, Fn2<T, A, R> fn, List<T> items, Ref<A> shared) {
        checkNotNull(fn, "map: function is null");
        checkNotNull(items, "map: items is null");
        return mapTasks(new UserFunctions.Call2(fn), items, own(shared, "map"), options);
    }

    @Override
    public Quiver with(io.quiver.Submit options) {
        checkNotNull(options, "with: options is null; use Submit.defaults() for none");
        return new QuiverView(this, options);
    }

    static TaskOptions taskOptions(io.quiver.Submit o) {
        return new TaskOptions(o.retries(), o.priority(), o.executors(), o.allowOthers());
    }

    @Override
    public void replicate(Ref<?> ref, int copies) {
        checkNotClosed();
        checkArgument(copies >= 1, "replicate: copies must be >= 1 (Integer.MAX_VALUE for every executor), got %s",
                copies);
        RefImpl<?> r = own(ref, "replicate");
        java.time.Duration timeout = session.callTimeout();
        r.state.await(timeout);
        session.replicate(r.state.id, copies);
        int want = Math.min(copies, cluster().executors().size());
        long deadline = System.nanoTime() + timeout.toNanos();
        while (r.state.locations.size() < want) {
            if (System.nanoTime() > deadline) {
                throw new QuiverException("replicate: " + r.state.id + " has " + r.state.locations.size() + " of "
                        + want + " copies after " + timeout + " (on " + r.state.locations
                        + "); the executors may lack memory for it: see Quiver.cluster()");
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QuiverException("interrupted while replicating " + r.state.id, e);
            }
        }
    }

    /** Ref.cancel(): asks the leader, then waits (bounded) to hear how the task ended. */
    boolean cancel(RefImpl<?> r) {
        if (r.state.done.isDone() || closed.get()) {
            return false;
        }
        session.cancel(r.state.id);
        try {
            r.state.done.get(session.callTimeout().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
            return false; // it finished before the cancel reached it
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause() instanceof QuiverException q
                    && q.getCause() instanceof java.util.concurrent.CancellationException;
        } catch (java.util.concurrent.TimeoutException e) {
            throw new QuiverException("cancel of " + r.state.id + ": no answer from the leader within "
                    + session.callTimeout(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QuiverException("interrupted while cancelling " + r.state.id, e);
        } finally {
            java.lang.ref.Reference.reachabilityFence(r);
        }
    }

    /** One function for all items: sent once, deserialized once per executor. */
    private <R> List<Ref<R>> mapTasks(TaskFunction fn, List<?> items, RefImpl<?> shared, TaskOptions options) {
        checkNotClosed();
        byte[] fnBytes = JavaSerialization.serialize(fn, "the function passed to map");
        // As submit does: a function too large for a control message travels once as a block, and
        // every task reads it as input 0 (deserialized once per executor, see LargeFunction).
        Ref<byte[]> fnBlock = null;
        if (fnBytes.length > LARGE_FUNCTION_BYTES) {
            fnBlock = scatter(fnBytes, Scatter.single());
            fnBytes = JavaSerialization.serialize(new LargeFunction(), "map");
        }
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
        long fnId = fnIds.incrementAndGet();
        List<Ref<R>> out = new ArrayList<>(items.size());
        List<TaskSpec> specs = new ArrayList<>(items.size());
        for (Arg item : itemArgs) {
            RefState r = refs.mint();
            List<Arg> args = new ArrayList<>(3);
            if (fnBlock != null) {
                args.add(Arg.ref(fnBlock.id()));
            }
            args.add(item);
            if (shared != null) {
                args.add(Arg.ref(shared.id()));
            }
            specs.add(new TaskSpec(r.id, fnId, args, options));
            out.add(handle(r));
        }
        session.submit(List.of(new FnDef(fnId, fnBytes, null)), specs);
        itemBlocks.forEach(Ref::close); // released after the tasks that read them are queued
        if (fnBlock != null) {
            fnBlock.close();
        }
        return List.copyOf(out);
    }

    // ------------------------------------------------------------------ scatter

    @Override
    public <T> Ref<T> scatter(T value) {
        return scatter(value, Scatter.single());
    }

    @Override
    public <T> Ref<T> scatter(T value, Scatter options) {
        checkNotClosed();
        return handle(scatterer.scatter(value, options));
    }

    // ------------------------------------------------------------------ gather

    @Override
    public <T> List<T> gather(List<? extends Ref<? extends T>> refs) {
        checkNotNull(refs, "gather: refs is null");
        try (ConsoleProgress.Wait wait = progress.track("gather", refs.size())) {
            return gather(refs, wait);
        }
    }

    /** Gathers, counting completions on {@code wait} (null: not shown). */
    private <T> List<T> gather(List<? extends Ref<? extends T>> refs, ConsoleProgress.Wait wait) {
        List<RefImpl<?>> own = new ArrayList<>(refs.size());
        for (Ref<? extends T> r : refs) {
            own.add(own(r, "gather"));
        }
        if (wait != null) {
            for (RefImpl<?> r : own) {
                r.state.done.whenComplete((x, e) -> wait.completed());
            }
        }
        // Start every fetch that is needed at once, then decode in order. A result that came inline
        // needs no hand-off to another thread: the check runs where the ref completes.
        List<CompletableFuture<?>> prefetch = new ArrayList<>(own.size());
        CompletableFuture<Object> none = CompletableFuture.completedFuture(null);
        for (RefImpl<?> r : own) {
            RefState s = r.state;
            prefetch.add(s.done.thenCompose(x -> x.inline != null || x.decoded
                    ? none
                    : CompletableFuture.supplyAsync(() -> {
                        valueOf(r, null);
                        return null;
                    }, userExecutor)));
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
            ConsoleProgress.Wait wait;

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
                    if (wait == null && taken == 0 && order.isEmpty()) {
                        // Shown only while the caller waits: counted from what is done already.
                        ConsoleProgress.Wait w = progress.track("asCompleted", n);
                        for (Ref<T> r : refs) {
                            ((RefImpl<?>) r).state.done.whenComplete((x, e) -> w.completed());
                        }
                        wait = w;
                    }
                    Ref<T> r = order.take();
                    taken++;
                    if (taken == n && wait != null) {
                        wait.close();
                    }
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
        InfoReply r = (InfoReply) session.call(InfoRequest::new, "cluster info");
        List<ExecutorInfo> execs = r.executors().stream()
                .map(e -> new ExecutorInfo(e.id(), e.host(), e.port(), e.slots(), e.memoryUsed(), e.memoryLimit()))
                .toList();
        return new ClusterInfo(r.leaderId(), r.epoch(), execs, session.statusUrl());
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
        return refs.isBroadcast(id);
    }

    /**
     * Ships a plan to the leader, which plans and runs it; returns at once a ref that completes
     * with {@code finish} applied to the final stage's outputs, fetched straight from executors.
     */
    <R> Ref<R> submitJob(LogicalPlan plan, Function<JobResult, R> finish) {
        checkNotClosed();
        JobReply reply = jobRequest(plan, false);
        List<Ref<Object>> results = new ArrayList<>(reply.results().size());
        for (RefId id : reply.results()) {
            results.add(handle(refs.adopt(id)));
        }
        Map<Integer, List<Ref<?>>> persisted = new HashMap<>();
        for (int i = 0; i < reply.persisted().size(); i++) {
            RefId id = reply.persisted().get(i);
            persisted.computeIfAbsent(reply.persistedNodes().get(i), k -> new ArrayList<>())
                    .add(handle(refs.adopt(id)));
        }
        RefState out = refs.mint();
        RefImpl<R> ref = handle(out);
        ConsoleProgress.Wait wait = progress.track("job", results.size());
        userExecutor.execute(() -> {
            boolean ok = false;
            try {
                List<Object> values = gather(results, wait);
                R value = finish.apply(new JobResult(values, persisted));
                out.value = value;
                out.decoded = true;
                out.complete(-1, List.of(), null);
                ok = true;
            } catch (RuntimeException | Error e) {
                out.fail(e instanceof RuntimeException re ? re : new QuiverException("dataset job failed: " + e, e));
            } finally {
                wait.close();
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
        return jobRequest(plan, true).explain();
    }

    /** The job id is minted here, so the same job sent again to a new leader names the same refs. */
    private JobReply jobRequest(LogicalPlan logical, boolean explainOnly) {
        RefId job = refs.nextId();
        byte[] plan = logical.toBytes();
        List<RefId> pinned = logical.nodes().stream().map(io.quiver.core.plan.LogicalNode::pinned)
                .filter(java.util.Objects::nonNull).distinct().toList();
        Message reply = session.callJob(reqId -> new SubmitJob(reqId, job, plan, explainOnly), pinned,
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

    /** Says Goodbye to the leader (it releases everything at once), fails what is pending, stops every thread. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        progress.close();
        session.close();
        refs.clear(new ClusterUnavailableException("the Quiver was closed"));
        CodeShipper shipper = code;
        if (shipper != null) {
            shipper.release();
        }
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
        /**
         * Functions by the block value they came from: an executor decodes a block once and hands
         * the same array to every task that reads it, so the tasks of one map share one function.
         * Weak keys: an entry goes with its block.
         */
        private static final Map<byte[], TaskFunction> DESERIALIZED =
                java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        @Override
        public Object[] run(Object[] args, io.quiver.core.task.TaskContext ctx) throws Exception {
            byte[] bytes = (byte[]) args[0];
            TaskFunction inner = DESERIALIZED.get(bytes);
            if (inner == null) {
                inner = (TaskFunction) JavaSerialization.deserialize(bytes, Thread.currentThread().getContextClassLoader());
                DESERIALIZED.put(bytes, inner);
            }
            Object[] rest = new Object[args.length - 1];
            System.arraycopy(args, 1, rest, 0, rest.length);
            return inner.run(rest, ctx);
        }
    }
}
