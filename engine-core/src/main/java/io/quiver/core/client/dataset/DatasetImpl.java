package io.quiver.core.client.dataset;

import io.quiver.Dataset;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.Pred;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.LogicalPlan;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The client's {@link Dataset}: an immutable handle on a node of the dataset graph plus the {@link
 * JobService} that runs its jobs. Transformations check their arguments at once (partition counts,
 * pinned refs, datasets of another Quiver) with messages naming the operator and the fix; actions
 * flatten the graph into a {@link LogicalPlan} and run it. Thread-safe.
 */
public class DatasetImpl<T> implements Dataset<T> {
    final JobService service;
    final ClientNode node;

    DatasetImpl(JobService service, ClientNode node) {
        this.service = Objects.requireNonNull(service, "service");
        this.node = node;
    }

    // ---- sources (what Quiver.parallelize/range/textFile return)

    /** Splits {@code items} into {@code partitions} contiguous runs, serialized now (later changes to the list do not show). */
    public static <T> DatasetImpl<T> parallelize(JobService service, List<T> items, int partitions) {
        checkPartitions("parallelize", partitions);
        Objects.requireNonNull(items, "parallelize: items must not be null");
        List<T> snapshot = new ArrayList<>(items);
        int n = snapshot.size();
        List<byte[]> parts = new ArrayList<>(partitions);
        for (int i = 0; i < partitions; i++) {
            int from = (int) ((long) n * i / partitions);
            int to = (int) ((long) n * (i + 1) / partitions);
            parts.add(JavaSerialization.serialize(new ArrayList<>(snapshot.subList(from, to)),
                    "the items of parallelize"));
        }
        return new DatasetImpl<>(service, ClientNode.parallelize(parts));
    }

    /** The longs {@code [fromInclusive, toExclusive)} (empty if {@code to <= from}) in {@code partitions} equal runs. */
    public static DatasetImpl<Long> range(JobService service, long fromInclusive, long toExclusive, int partitions) {
        checkPartitions("range", partitions);
        return new DatasetImpl<>(service, ClientNode.range(fromInclusive, toExclusive, partitions));
    }

    /**
     * The lines of a file that the client and every executor can read at {@code path}; its size is
     * read here and the planner cuts it into {@code minPartitions} byte ranges.
     */
    public static DatasetImpl<String> textFile(JobService service, String path, int minPartitions) {
        Objects.requireNonNull(path, "textFile: path must not be null");
        Path p = Path.of(path).toAbsolutePath();
        long length;
        try {
            length = Files.size(p);
        } catch (IOException e) {
            throw new QuiverException("textFile: cannot read " + p + " (" + e + "); give a path of a file that the"
                    + " client and every executor can read", e);
        }
        return textFile(service, p.toString(), length, minPartitions);
    }

    /** Like {@link #textFile(JobService, String, int)} with a length known by the caller. */
    public static DatasetImpl<String> textFile(JobService service, String path, long fileLength, int minPartitions) {
        checkPartitions("textFile", minPartitions);
        if (fileLength < 0) {
            throw new QuiverException("textFile: file length must be >= 0, got " + fileLength);
        }
        return new DatasetImpl<>(service, ClientNode.textFile(path, fileLength, minPartitions));
    }

    // ---- transformations

    @Override
    public <R> Dataset<R> map(Fn1<T, R> fn) {
        return new DatasetImpl<>(service, narrow(Kind.MAP, fn));
    }

    @Override
    public <B, R> Dataset<R> map(Ref<B> pinned, Fn2<T, B, R> fn) {
        return new DatasetImpl<>(service, pinnedOp(Kind.MAP_PINNED, pinned, fn));
    }

    @Override
    public <R> Dataset<R> flatMap(Fn1<T, ? extends Iterable<R>> fn) {
        return new DatasetImpl<>(service, narrow(Kind.FLAT_MAP, fn));
    }

    @Override
    public Dataset<T> filter(Pred<T> pred) {
        return new DatasetImpl<>(service, narrow(Kind.FILTER, pred));
    }

    @Override
    public <B> Dataset<T> filter(Ref<B> pinned, Fn2<T, B, Boolean> pred) {
        return new DatasetImpl<>(service, pinnedOp(Kind.FILTER_PINNED, pinned, pred));
    }

    @Override
    public <R> Dataset<R> mapPartitions(Fn1<Iterator<T>, Iterator<R>> fn) {
        return new DatasetImpl<>(service, narrow(Kind.MAP_PARTITIONS, fn));
    }

    @Override
    public <K> PairDataset<K, T> keyBy(Fn1<T, K> fn) {
        return new PairDatasetImpl<>(service, narrow(Kind.KEY_BY, fn));
    }

    @Override
    public <K, V> PairDataset<K, V> mapToPair(Fn1<T, KV<K, V>> fn) {
        return new PairDatasetImpl<>(service, narrow(Kind.MAP_TO_PAIR, fn));
    }

    @Override
    public Dataset<T> union(Dataset<T> other) {
        return new DatasetImpl<>(service, unionNode(other));
    }

    @Override
    public Dataset<T> repartition(int partitions) {
        return new DatasetImpl<>(service, repartitionNode(partitions));
    }

    @Override
    public Dataset<T> coalesce(int partitions) {
        ClientNode merged = coalesceNode(partitions);
        return merged == node ? this : new DatasetImpl<>(service, merged);
    }

    /** Persisting twice persists once: the same persisted dataset comes back. */
    @Override
    public Dataset<T> persist() {
        return new DatasetImpl<>(service, persistNode());
    }

    /** Releases this dataset's kept partitions (if it is a persisted one); later jobs recompute it. */
    @Override
    public Dataset<T> unpersist() {
        releasePersisted();
        return this;
    }

    // ---- actions

    @Override
    @SuppressWarnings("unchecked")
    public List<T> collect() {
        return (List<T>) concat(run(Action.collect()));
    }

    @Override
    public long count() {
        long n = 0;
        for (Object o : run(Action.count()).outputs()) {
            n += (Long) o;
        }
        return n;
    }

    @Override
    @SuppressWarnings("unchecked")
    public T reduce(Fn2<T, T, T> fn) {
        Objects.requireNonNull(fn, "reduce: the function must not be null");
        byte[] bytes = JavaSerialization.serialize(fn, "the function of reduce");
        boolean any = false;
        T acc = null;
        for (Object o : run(Action.reduce(bytes)).outputs()) {
            Object[] partial = (Object[]) o;
            if (partial.length == 0) {
                continue;
            }
            if (any) {
                try {
                    acc = fn.apply(acc, (T) partial[0]);
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new QuiverException("reduce: the function threw " + e, e);
                }
            } else {
                acc = (T) partial[0];
                any = true;
            }
        }
        if (!any) {
            throw new QuiverException("reduce of empty dataset");
        }
        return acc;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Ref<List<T>> collectAsync() {
        PlanFlattener.Flat flat = PlanFlattener.flatten(service, node, Action.collect());
        return service.submit(flat.plan(), result -> {
            recordPersisted(flat, result);
            return (List<T>) concat(result);
        });
    }

    @Override
    public String explain() {
        return service.explain(PlanFlattener.flatten(service, node, Action.collect()).plan());
    }

    @Override
    public int partitions() {
        return node.partitions;
    }

    /** The logical plan an action with {@code action} would ship (for tests and tools). */
    public LogicalPlan logicalPlan(Action action) {
        return PlanFlattener.flatten(service, node, action).plan();
    }

    @Override
    public String toString() {
        return "Dataset[" + (node.isPersistMarker() ? "persist" : node.kind.displayName()) + ", "
                + node.partitions + " partitions]";
    }


    // ---- part 7: more of Spark's RDD API (built on the engine's primitives, see Ops)

    /** How many times take() may multiply the partitions it scans per round (Spark's scale-up factor). */
    static final int TAKE_SCALE_UP = 4;

    @Override
    @SuppressWarnings("unchecked")
    public Dataset<T> distinct() {
        return keyedByElement(this, 0).reduceByKey((a, b) -> a).map(kv -> (T) NullSafeKey.unwrap(kv.key()));
    }

    /** Elements as keys (null wrapped), so that a keyed shuffle can compare them. */
    static <E> PairDataset<Object, Object> keyedByElement(DatasetImpl<E> d, long value) {
        Long v = value;
        return d.mapToPair(x -> KV.of(NullSafeKey.wrap(x), (Object) v));
    }

    @Override
    public <K extends Comparable<? super K>> Dataset<T> sortBy(Fn1<T, K> key, boolean ascending) {
        Objects.requireNonNull(key, "sortBy: the key function must not be null");
        return ((PairDatasetImpl<K, T>) keyBy(key)).sortByKey(ascending, "sortBy").values();
    }

    @Override
    public PairDataset<T, Long> zipWithIndex() {
        long[] starts = new long[partitions()];
        if (starts.length > 1) {
            List<Object> counts = run(Action.count()).outputs();
            for (int i = 1; i < starts.length; i++) {
                starts[i] = starts[i - 1] + (Long) counts.get(i - 1);
            }
        }
        return new PairDatasetImpl<>(service, narrow(Kind.MAP_PARTITIONS_WITH_INDEX, Ops.zipWithIndex(starts)));
    }

    @Override
    public <R> Dataset<R> mapPartitionsWithIndex(Fn2<Integer, Iterator<T>, Iterator<R>> fn) {
        return new DatasetImpl<>(service, narrow(Kind.MAP_PARTITIONS_WITH_INDEX, fn));
    }

    @Override
    public Dataset<T> sample(boolean withReplacement, double fraction, long seed) {
        if (!(fraction >= 0) || Double.isInfinite(fraction) || !withReplacement && fraction > 1) {
            throw new QuiverException("sample: fraction must be " + (withReplacement ? ">= 0" : "in [0, 1]")
                    + (withReplacement ? "" : " without replacement") + ", got " + fraction);
        }
        return new DatasetImpl<>(service, narrow(Kind.MAP_PARTITIONS_WITH_INDEX,
                Ops.<T>sampler(withReplacement, fraction, seed)));
    }

    @Override
    @SuppressWarnings("unchecked")
    public Dataset<T> subtract(Dataset<T> other) {
        DatasetImpl<T> o = (DatasetImpl<T>) sameQuiver("subtract", other);
        return keyedByElement(this, 0).subtractByKey(keyedByElement(o, 0)).map(kv -> (T) NullSafeKey.unwrap(kv.key()));
    }

    @Override
    @SuppressWarnings("unchecked")
    public Dataset<T> intersection(Dataset<T> other) {
        DatasetImpl<T> o = (DatasetImpl<T>) sameQuiver("intersection", other);
        PairDatasetImpl<Object, Object> left = (PairDatasetImpl<Object, Object>) keyedByElement(this, 0);
        PairDataset<Object, KV<List<Object>, List<Object>>> groups = left.cogroup(keyedByElement(o, 0),
                Math.max(partitions(), o.partitions()));
        return groups.flatMap(Ops.<T>bothSides());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <U> PairDataset<T, U> cartesian(Dataset<U> other) {
        DatasetImpl<U> o = (DatasetImpl<U>) sameQuiver("cartesian", other);
        int m = partitions();
        int n = o.partitions();
        long product = (long) m * n;
        if (product > 1_000_000) {
            throw new QuiverException("cartesian: " + m + " x " + n + " partitions make " + product
                    + " output partitions; coalesce or repartition the inputs to fewer partitions first");
        }
        PairDatasetImpl<Long, T> left = new PairDatasetImpl<>(service,
                narrow(Kind.MAP_PARTITIONS_WITH_INDEX, Ops.<T>tagLeft(n)));
        PairDatasetImpl<Long, U> right = new PairDatasetImpl<>(service,
                o.narrow(Kind.MAP_PARTITIONS_WITH_INDEX, Ops.<U>tagRight(m, n)));
        PairDatasetImpl<Long, KV<List<T>, List<U>>> groups = (PairDatasetImpl<Long, KV<List<T>, List<U>>>)
                left.cogroup(right, (int) product);
        return new PairDatasetImpl<>(service, groups.narrow(Kind.FLAT_MAP, Ops.<T, U>cross()));
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<T> take(int n) {
        if (n < 0) {
            throw new QuiverException("take: n must be >= 0, got " + n);
        }
        List<T> out = new ArrayList<>(Math.min(n, 1024));
        int total = partitions();
        int scanned = 0;
        while (out.size() < n && scanned < total) {
            int tryParts = 1;
            if (scanned > 0) {
                // like Spark's take: scale up by at most TAKE_SCALE_UP, or estimate from what was found
                tryParts = scanned * TAKE_SCALE_UP;
                if (!out.isEmpty()) {
                    tryParts = (int) Math.min(tryParts, Math.max(1,
                            Math.ceil(1.5 * n * scanned / out.size()) - scanned));
                }
            }
            int to = (int) Math.min(total, (long) scanned + tryParts);
            ClientNode limited = ClientNode.narrow(Kind.MAP_PARTITIONS, node, Ops.limit(n - out.size()), null);
            JobResult r = runNode(ClientNode.slice(limited, scanned, to), Action.collect());
            for (Object part : r.outputs()) {
                for (Object x : (List<?>) part) {
                    if (out.size() < n) {
                        out.add((T) x);
                    }
                }
            }
            scanned = to;
        }
        return out;
    }

    @Override
    public T first() {
        List<T> one = take(1);
        if (one.isEmpty()) {
            throw new QuiverException("first of empty dataset");
        }
        return one.get(0);
    }

    @Override
    public List<T> top(int n, Comparator<? super T> order) {
        return takeOrdered("top", n, java.util.Collections.reverseOrder(checkComparator("top", order)));
    }

    @Override
    public List<T> takeOrdered(int n, Comparator<? super T> order) {
        return takeOrdered("takeOrdered", n, checkComparator("takeOrdered", order));
    }

    @SuppressWarnings("unchecked")
    private List<T> takeOrdered(String op, int n, Comparator<? super T> order) {
        if (n < 0) {
            throw new QuiverException(op + ": n must be >= 0, got " + n);
        }
        if (n == 0) {
            return List.of();
        }
        List<T> all = (List<T>) concat(runNode(ClientNode.narrow(Kind.MAP_PARTITIONS, node,
                Ops.smallest(n, order), null), Action.collect()));
        all.sort(order);
        return new ArrayList<>(all.subList(0, Math.min(n, all.size())));
    }

    private static <C> C checkComparator(String op, C order) {
        Objects.requireNonNull(order, () -> op + ": the comparator must not be null");
        if (!(order instanceof Serializable)) {
            throw new QuiverException(op + ": the comparator " + order.getClass().getName() + " is not Serializable;"
                    + " it runs on executors: pass e.g. Comparator.naturalOrder(), or cast a lambda with"
                    + " (Comparator<T> & Serializable)");
        }
        JavaSerialization.serialize(order, "the comparator of " + op);
        return order;
    }

    @Override
    public T fold(T zero, Fn2<T, T, T> fn) {
        Objects.requireNonNull(fn, "fold: the function must not be null");
        return aggregate("fold", zero, fn, fn);
    }

    @Override
    public <U> U aggregate(U zero, Fn2<U, T, U> seq, Fn2<U, U, U> comb) {
        Objects.requireNonNull(seq, "aggregate: the seq function must not be null");
        Objects.requireNonNull(comb, "aggregate: the comb function must not be null");
        return aggregate("aggregate", zero, seq, comb);
    }

    @SuppressWarnings("unchecked")
    private <U> U aggregate(String op, U zero, Fn2<U, T, U> seq, Fn2<U, U, U> comb) {
        byte[] zeroBytes = JavaSerialization.serialize(zero, "the zero value of " + op);
        List<Object> partials = concat(runNode(ClientNode.narrow(Kind.MAP_PARTITIONS, node,
                Ops.aggregatePartition(zeroBytes, seq), null), Action.collect()));
        U acc = Ops.copy(zeroBytes);
        for (Object p : partials) {
            try {
                acc = comb.apply(acc, (U) p);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new QuiverException(op + ": the function threw " + e, e);
            }
        }
        return acc;
    }

    @Override
    public boolean isEmpty() {
        return take(1).isEmpty();
    }

    @Override
    @SuppressWarnings("unchecked")
    public Map<T, Long> countByValue() {
        List<KV<Object, Object>> counts = keyedByElement(this, 1).reduceByKey((a, b) -> (Long) a + (Long) b)
                .collect();
        Map<T, Long> out = new HashMap<>();
        for (KV<Object, Object> kv : counts) {
            out.put((T) NullSafeKey.unwrap(kv.key()), (Long) kv.value());
        }
        return out;
    }

    @Override
    public void saveAsTextFile(String directory) {
        Objects.requireNonNull(directory, "saveAsTextFile: the directory must not be null");
        Path dir = Path.of(directory).toAbsolutePath();
        if (Files.isRegularFile(dir)) {
            throw new QuiverException("saveAsTextFile: " + dir + " is a file; give a directory that does not exist"
                    + " yet");
        }
        try (var entries = Files.isDirectory(dir) ? Files.list(dir) : java.util.stream.Stream.empty()) {
            if (entries.findAny().isPresent()) {
                throw new QuiverException("saveAsTextFile: " + dir + " already exists and is not empty; give a new"
                        + " directory or delete it first");
            }
        } catch (IOException e) {
            throw new QuiverException("saveAsTextFile: cannot read " + dir + ": " + e, e);
        }
        runNode(ClientNode.narrow(Kind.MAP_PARTITIONS_WITH_INDEX, node, Ops.saveText(dir.toString()), null),
                Action.count());
    }

    /** Runs a job over another node of this dataset's graph (a view built only for an action). */
    final JobResult runNode(ClientNode root, Action action) {
        PlanFlattener.Flat flat = PlanFlattener.flatten(service, root, action);
        JobResult result = service.run(flat.plan());
        recordPersisted(flat, result);
        return result;
    }

    // ---- helpers shared with PairDatasetImpl

    final JobResult run(Action action) {
        PlanFlattener.Flat flat = PlanFlattener.flatten(service, node, action);
        JobResult result = service.run(flat.plan());
        recordPersisted(flat, result);
        return result;
    }

    private static void recordPersisted(PlanFlattener.Flat flat, JobResult result) {
        for (Map.Entry<Integer, List<Ref<?>>> e : result.persisted().entrySet()) {
            PersistHandle h = flat.persisting().get(e.getKey());
            if (h != null) {
                h.materialize(e.getValue());
            } else {
                e.getValue().forEach(Ref::close); // nobody asked to keep these
            }
        }
    }

    static List<Object> concat(JobResult result) {
        int size = 0;
        for (Object o : result.outputs()) {
            size += ((List<?>) o).size();
        }
        List<Object> all = new ArrayList<>(size);
        for (Object o : result.outputs()) {
            all.addAll((List<?>) o);
        }
        return all;
    }

    final ClientNode narrow(Kind kind, Object fn) {
        Objects.requireNonNull(fn, () -> kind.displayName() + ": the function must not be null");
        return ClientNode.narrow(kind, node, fn, null);
    }

    final ClientNode pinnedOp(Kind kind, Ref<?> pinned, Object fn) {
        String op = kind.displayName();
        Objects.requireNonNull(fn, () -> op + ": the function must not be null");
        checkRef(service, op, pinned);
        return ClientNode.narrow(kind, node, fn, pinned);
    }

    final ClientNode unionNode(Dataset<?> other) {
        return ClientNode.union(node, sameQuiver("union", other).node);
    }

    final ClientNode repartitionNode(int partitions) {
        checkPartitions("repartition", partitions);
        return ClientNode.wide(Kind.REPARTITION, new ClientNode[] {node}, null, partitions);
    }

    /** At least as many partitions already: this node itself (as Spark's coalesce without shuffle). */
    final ClientNode coalesceNode(int partitions) {
        checkPartitions("coalesce", partitions);
        if (partitions >= node.partitions) {
            return node;
        }
        return ClientNode.wide(Kind.COALESCE, new ClientNode[] {node}, null, partitions);
    }

    final ClientNode persistNode() {
        if (node.isPersistMarker() && node.persist.state() != PersistHandle.State.UNPERSISTED) {
            return node;
        }
        ClientNode base = node.isPersistMarker() ? node.inputs[0] : node;
        return base.persistedChild.updateAndGet(existing ->
                existing != null && existing.persist.state() != PersistHandle.State.UNPERSISTED
                        ? existing : ClientNode.persistMarker(base));
    }

    final void releasePersisted() {
        if (node.isPersistMarker()) {
            node.persist.unpersist();
        } else {
            ClientNode child = node.persistedChild.get();
            if (child != null) {
                child.persist.unpersist();
            }
        }
    }

    final DatasetImpl<?> sameQuiver(String op, Dataset<?> other) {
        Objects.requireNonNull(other, () -> op + ": the other dataset must not be null");
        if (!(other instanceof DatasetImpl<?> d) || d.service.ownerId() != service.ownerId()) {
            throw new QuiverException(op + ": dataset was created by a different Quiver; build it from this one");
        }
        return d;
    }

    static void checkPartitions(String op, int partitions) {
        if (partitions <= 0) {
            throw new QuiverException(op + ": partitions must be > 0, got " + partitions
                    + "; pass a positive partition count");
        }
    }

    static void checkRef(JobService service, String op, Ref<?> ref) {
        Objects.requireNonNull(ref, () -> op + ": the pinned ref must not be null");
        switch (service.refState(ref)) {
            case LIVE -> {}
            case RELEASED -> throw new QuiverException(op + ": pinned ref " + ref.id() + " was released (closed);"
                    + " pin a live ref, e.g. scatter the value again");
            case FOREIGN -> throw new QuiverException(op + ": pinned ref " + ref.id() + " was created by a"
                    + " different Quiver; scatter the value with this one");
        }
    }
}
