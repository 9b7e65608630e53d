package io.quiver.planner;

import io.quiver.Dataset;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.RefId;
import io.quiver.core.client.dataset.DatasetImpl;
import io.quiver.core.client.dataset.JobResult;
import io.quiver.core.client.dataset.JobService;
import io.quiver.core.plan.LogicalPlan;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A {@link JobService} over {@link TestingPlanRunner}: a pretend Quiver with two executors
 * ({@code exec-0}, {@code exec-1}), a block store of refs, and synchronous jobs. Lets datasets be
 * tested without a cluster.
 */
public final class TestingJobService implements JobService, AutoCloseable {
    private static final AtomicLong OWNERS = new AtomicLong(100);

    private final long owner = OWNERS.incrementAndGet();
    private final AtomicLong seq = new AtomicLong();
    private final List<String> executors;
    private final Map<RefId, TestingRef<?>> refs = new ConcurrentHashMap<>();
    private final TestingPlanRunner runner = new TestingPlanRunner();
    private final AtomicInteger jobs = new AtomicInteger();
    private volatile PhysicalPlan lastPlan;

    public TestingJobService() {
        this(List.of("exec-0", "exec-1"));
    }

    public TestingJobService(List<String> executors) {
        this.executors = List.copyOf(executors);
    }

    // ---- the Quiver-like surface tests use

    public <T> Dataset<T> parallelize(List<T> items, int partitions) {
        return DatasetImpl.parallelize(this, items, partitions);
    }

    public Dataset<Long> range(long from, long to, int partitions) {
        return DatasetImpl.range(this, from, to, partitions);
    }

    public Dataset<String> textFile(String path, int minPartitions) {
        return DatasetImpl.textFile(this, path, minPartitions);
    }

    /** Puts a value on {@code holders} (or everywhere if broadcast). */
    public <T> Ref<T> scatter(T value, boolean broadcast, String... holders) {
        TestingRef<T> ref = new TestingRef<>(new RefId(owner, seq.incrementAndGet()), value, broadcast,
                broadcast ? Set.copyOf(executors) : Set.of(holders));
        refs.put(ref.id(), ref);
        return ref;
    }

    public int jobs() {
        return jobs.get();
    }

    public PhysicalPlan lastPlan() {
        return lastPlan;
    }

    public TestingPlanRunner runner() {
        return runner;
    }

    /** Live refs (scattered and persisted partitions). */
    public int liveRefs() {
        return (int) refs.values().stream().filter(r -> !r.closed.get()).count();
    }

    public ClusterView clusterView() {
        Map<RefId, ClusterView.RefLocation> locations = new HashMap<>();
        for (TestingRef<?> r : refs.values()) {
            if (!r.closed.get()) {
                locations.put(r.id(), new ClusterView.RefLocation(new java.util.TreeSet<>(r.holders), r.broadcast));
            }
        }
        return new ClusterView(executors, locations);
    }

    // ---- JobService

    @Override
    public long ownerId() {
        return owner;
    }

    @Override
    public RefState refState(Ref<?> ref) {
        if (!(ref instanceof TestingRef<?> t) || refs.get(t.id()) != t) {
            return RefState.FOREIGN;
        }
        return t.closed.get() ? RefState.RELEASED : RefState.LIVE;
    }

    @Override
    public boolean isBroadcast(Ref<?> ref) {
        return ((TestingRef<?>) ref).broadcast;
    }

    @Override
    public <R> Ref<R> submit(LogicalPlan plan, Function<JobResult, R> finish) {
        jobs.incrementAndGet();
        TestingPlanRunner.Run run = runner.run(plan, clusterView(), this::valueOf);
        lastPlan = run.plan();
        Map<Integer, List<Ref<?>>> persisted = new HashMap<>();
        run.persistedValues().forEach((node, values) -> {
            List<Ref<?>> partitionRefs = new ArrayList<>();
            List<String> where = run.persistedExecutors().get(node);
            for (int p = 0; p < values.size(); p++) {
                TestingRef<Object> r = new TestingRef<>(new RefId(owner, seq.incrementAndGet()), values.get(p), false,
                        Set.of(where.get(p)));
                refs.put(r.id(), r);
                partitionRefs.add(r);
            }
            persisted.put(node, partitionRefs);
        });
        R value = finish.apply(new JobResult(run.outputs(), persisted));
        return new TestingRef<>(new RefId(owner, seq.incrementAndGet()), value, false, Set.of());
    }

    @Override
    public String explain(LogicalPlan plan) {
        return Planner.plan(LogicalPlan.fromBytes(plan.toBytes()), clusterView()).explain();
    }

    private Object valueOf(RefId id) {
        TestingRef<?> r = refs.get(id);
        if (r == null || r.closed.get()) {
            throw new QuiverException("no live ref " + id);
        }
        return r.value;
    }

    @Override
    public void close() {
        refs.values().forEach(TestingRef::close);
        runner.close();
    }

    /** A ref whose value is in this JVM. */
    static final class TestingRef<T> implements Ref<T> {
        private final RefId id;
        private final T value;
        private final boolean broadcast;
        private final Set<String> holders;
        private final AtomicBoolean closed = new AtomicBoolean();

        TestingRef(RefId id, T value, boolean broadcast, Set<String> holders) {
            this.id = id;
            this.value = value;
            this.broadcast = broadcast;
            this.holders = holders;
        }

        @Override
        public RefId id() {
            return id;
        }

        @Override
        public T result() {
            return value;
        }

        @Override
        public T result(Duration timeout) {
            return value;
        }

        @Override
        public boolean isDone() {
            return true;
        }

        @Override
        public CompletableFuture<T> toCompletableFuture() {
            return CompletableFuture.completedFuture(value);
        }

        @Override
        public Set<String> locations() {
            return closed.get() ? Set.of() : holders;
        }

        @Override
        public long sizeBytes() {
            return -1;
        }

        @Override
        public boolean cancel() {
            return false; // already done: nothing to cancel
        }

        @Override
        public void close() {
            closed.set(true);
        }

        boolean isClosed() {
            return closed.get();
        }
    }
}
