package io.quiver.core.plan;

import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.Pred;
import io.quiver.QuiverException;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.task.TaskContext;
import io.quiver.core.task.TaskFunction;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * Runs one stage of a dataset job for one partition: reads the partition's source, pushes it
 * through the stage's fused narrow operators in batches, and hands it to the stage's sink. Built by
 * the planner; executors deserialize one instance per stage and share it across all the stage's
 * tasks concurrently, so it is immutable apart from the user functions, which it deserializes once,
 * lazily, with the thread's context class loader.
 *
 * <p>A reduceByKey map stage takes the row operators that end it (map, filter, keyBy, mapToPair,
 * mapValues) one element at a time instead, straight into its combine table, as Spark's iterators
 * do. Each element's result and each error are the same either way; when two elements of one batch
 * would both fail, the first element's failure now wins, whichever operator it comes from.
 *
 * <p>Task arguments (what the runtime resolves from the planner's task inputs):
 *
 * <pre>
 *   args[0]                         Integer: the task's partition in this stage
 *   args[1 .. 1+pins)               the values of the path's pinned refs
 *   args[path.firstSourceArg() ..]  the source input(s):
 *       ITEMS        byte[]       a parallelize partition (a serialized ArrayList)
 *       RANGE        RangeSplit
 *       TEXT         TextSplit
 *       LIST         List         a persisted partition
 *       REDUCE_BY_KEY, GROUP_BY_KEY, REPARTITION, JOIN
 *                    ShuffleOutput, one per map task that wrote rows for this task's bucket, in
 *                    map task order (the leader leaves out the others); a join's carry their side;
 *                    each is that bucket's slice of the map output, or (small ones) the whole
 * </pre>
 *
 * Outputs (exactly {@link #outputs()}): a shuffle-map task returns one {@link ShuffleOutput}
 * holding a bucket per reduce partition ({@link KeyedBucket}, or {@code Object[]} for repartition;
 * null when empty); a persist stage returns the partition
 * as an {@code ArrayList}; a result stage returns what its {@link Action} says. Exceptions thrown
 * by user functions propagate unchanged; Quiver's own checks (a null key, a non-pair element) throw
 * {@link QuiverException} naming the operator.
 */
public final class StageFunction implements TaskFunction {
    private static final long serialVersionUID = 1L;

    /** Every 50th nested mapPartitions reads a materialized input, to bound iterator nesting depth. */
    private static final int MAX_ITERATOR_NESTING = 50;

    /** Where a path's elements come from. */
    public enum SourceKind {
        ITEMS,
        RANGE,
        TEXT,
        LIST,
        REDUCE_BY_KEY,
        GROUP_BY_KEY,
        JOIN,
        REPARTITION,
        /** A coalesce's group: the map outputs of its contiguous input partitions, concatenated. */
        COALESCE,
        COGROUP,
        PARTITION_BY,
        SORT_BY_KEY
    }

    /** What a stage does with the elements of a partition. */
    public enum SinkKind {
        /** One bucket per reduce partition; {@link Sink#shuffle()} says which shuffle. */
        SHUFFLE,
        /** The partition as an ArrayList, for the runtime to keep. */
        PERSIST,
        /** The action's per-partition value. */
        RESULT
    }

    /**
     * A fused narrow operator.
     *
     * @param function index into the stage's functions
     */
    public record Op(Kind kind, String name, int function) implements Serializable {}

    /**
     * A path's source.
     *
     * @param function index into the stage's functions, or -1 (reduceByKey's combine function)
     * @param sideTasks for shuffle sources: how many map tasks each side has
     */
    public record Source(SourceKind kind, String name, int function, int[] sideTasks) implements Serializable {}

    /**
     * The chain of one contiguous range of the stage's partitions. A stage without union has one
     * path; a union of k inputs has k paths, each covering the partitions its input contributes.
     *
     * @param ops indices into the stage's ops, in execution order
     * @param pinArgs for each op, the argument index of its pinned value, or -1
     * @param firstSourceArg the argument index of the first source input
     */
    public record Path(int firstPartition, int partitions, Source source, int[] ops, int[] pinArgs,
            int firstSourceArg, int[] opPartitionOffsets) implements Serializable {
        /**
         * A path whose operators see the stage's partition numbers as they are.
         *
         * @param ops indices into the stage's ops, in execution order
         * @param pinArgs for each op, the argument index of its pinned value, or -1
         * @param firstSourceArg the argument index of the first source input
         */
        public Path(int firstPartition, int partitions, Source source, int[] ops, int[] pinArgs, int firstSourceArg) {
            this(firstPartition, partitions, source, ops, pinArgs, firstSourceArg, new int[ops.length]);
        }

        /**
         * @param opPartitionOffsets for each op, what to add to the stage's partition number to get
         *     the partition number in the op's own dataset (mapPartitionsWithIndex sees it): below a
         *     union, a path's partitions start at 0 again
         */
        public Path {
            if (opPartitionOffsets.length != ops.length) {
                throw new IllegalArgumentException("one partition offset per op: " + ops.length + " ops, "
                        + opPartitionOffsets.length + " offsets");
            }
        }
    }

    /**
     * A stage's sink.
     *
     * @param shuffle for SHUFFLE: REDUCE_BY_KEY, GROUP_BY_KEY, JOIN or REPARTITION
     * @param function for SHUFFLE of REDUCE_BY_KEY: the combine function; for RESULT of REDUCE: the
     *     reduce function; else -1
     * @param buckets for SHUFFLE: the reduce partition count
     * @param side for SHUFFLE: which input of the wide operator this map stage feeds (1: a join's right)
     */
    public record Sink(SinkKind kind, Kind shuffle, Action.Kind action, String name, int function, int buckets,
            int side) implements Serializable {
        /** A sink feeding side 0 (every sink but a join's right-side shuffle). */
        public Sink(SinkKind kind, Kind shuffle, Action.Kind action, String name, int function, int buckets) {
            this(kind, shuffle, action, name, function, buckets, 0);
        }

        int outputs() {
            return 1;
        }
    }

    private final String label;
    private final byte[][] functions;
    private final Op[] ops;
    private final Path[] paths;
    private final Sink sink;
    /** The deserialized functions; set once, on first use (this class is shared by many tasks). */
    private transient volatile Object[] loaded;
    /** For each function, the JDK arithmetic it names ({@link Reducer#of}), or null; set with {@link #loaded}. */
    private transient Reducer[] reducers;

    /**
     * @param label names the stage in errors and logs ("stage 2: map -> filter")
     * @param functions serialized user functions, referenced by index from ops, sources and sink
     * @param paths sorted by first partition, covering the stage's partitions without gaps
     */
    public StageFunction(String label, List<byte[]> functions, List<Op> ops, List<Path> paths, Sink sink) {
        this.label = label;
        this.functions = functions.toArray(new byte[0][]);
        this.ops = ops.toArray(new Op[0]);
        this.paths = paths.toArray(new Path[0]);
        this.sink = sink;
        int next = 0;
        for (Path p : this.paths) {
            if (p.firstPartition() != next) {
                throw new IllegalArgumentException("paths must cover the partitions in order; expected "
                        + next + ", got " + p.firstPartition());
            }
            next += p.partitions();
        }
    }

    /** The number of outputs of every task of this stage. */
    public int outputs() {
        return sink.outputs();
    }

    public int partitions() {
        Path last = paths[paths.length - 1];
        return last.firstPartition() + last.partitions();
    }

    public Sink sink() {
        return sink;
    }

    public List<Path> paths() {
        return List.of(paths);
    }

    @Override
    public String toString() {
        return "StageFunction[" + label + "]";
    }

    @Override
    public Object[] run(Object[] args, TaskContext ctx) throws Exception {
        Object[] fns = functions();
        int partition = (Integer) args[0];
        Path path = pathOf(partition);
        if (sink.kind() == SinkKind.SHUFFLE && sink.shuffle() == Kind.REDUCE_BY_KEY) {
            return new Object[] {combine(path, args, fns, partition)};
        }
        try (Batches source = openSource(path, args, partition, fns)) {
            return drain(chain(source, path, args, fns, partition, path.ops().length), fns, partition);
        }
    }

    /**
     * reduceByKey's map side. The row operators that end the path run one element at a time into
     * the combine table; over a range with nothing else before them, no batch is made at all, so
     * the JIT can compile range, operators and table into one loop without a box per row.
     */
    private ShuffleOutput combine(Path path, Object[] args, Object[] fns, int partition) throws Exception {
        int[] opIndices = path.ops();
        int rows = opIndices.length;
        while (rows > 0 && RowOps.isRowOp(ops[opIndices[rows - 1]].kind())) {
            rows--;
        }
        RowOps tail = new RowOps(ops, Arrays.copyOfRange(opIndices, rows, opIndices.length),
                Arrays.copyOfRange(path.pinArgs(), rows, opIndices.length), args, fns);
        CombineTable table = new CombineTable((Fn2<?, ?, ?>) fn(fns, sink.function()), reducer(sink.function()));
        if (rows == 0 && path.source().kind() == SourceKind.RANGE) {
            RangeSplit r = (RangeSplit) args[path.firstSourceArg()];
            Shuffles.combineRange(r.from(), r.to(), tail, table, sink.name());
        } else {
            try (Batches source = openSource(path, args, partition, fns)) {
                Shuffles.combineRows(chain(source, path, args, fns, partition, rows), tail, table, sink.name());
            }
        }
        return Shuffles.output(sink.side(), table.toBuckets(sink.buckets()));
    }

    private Path pathOf(int partition) {
        int lo = 0;
        int hi = paths.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (paths[mid].firstPartition() <= partition) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Path p = paths[lo];
        if (partition < p.firstPartition() || partition >= p.firstPartition() + p.partitions()) {
            throw new QuiverException(label + ": no partition " + partition + " (has " + partitions() + ")");
        }
        return p;
    }

    private Object[] functions() {
        Object[] f = loaded;
        if (f == null) {
            synchronized (this) { // private to the engine; nobody else locks a StageFunction
                f = loaded;
                if (f == null) {
                    ClassLoader loader = Thread.currentThread().getContextClassLoader();
                    if (loader == null) {
                        loader = StageFunction.class.getClassLoader();
                    }
                    f = new Object[functions.length];
                    Reducer[] r = new Reducer[functions.length];
                    for (int i = 0; i < functions.length; i++) {
                        f[i] = JavaSerialization.deserialize(functions[i], loader);
                        r[i] = f[i] instanceof Fn2<?, ?, ?> ? Reducer.of(f[i]) : null;
                    }
                    reducers = r; // before loaded: a reader that sees loaded sees these too
                    loaded = f;
                }
            }
        }
        return f;
    }

    /** What function {@code index} computes, if it is a JDK sum, min or max; call after {@link #functions}. */
    private Reducer reducer(int index) {
        return index < 0 ? null : reducers[index];
    }

    private static Object fn(Object[] fns, int index) {
        return index < 0 ? null : fns[index];
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Batches openSource(Path path, Object[] args, int partition, Object[] fns) throws Exception {
        Source source = path.source();
        int first = path.firstSourceArg();
        Object in = first < args.length ? args[first] : null; // a reduce task may get no map output
        switch (source.kind()) {
            case ITEMS -> {
                ClassLoader loader = Thread.currentThread().getContextClassLoader();
                return Batches.of((List<?>) JavaSerialization.deserialize((byte[]) in,
                        loader != null ? loader : StageFunction.class.getClassLoader()));
            }
            case RANGE -> {
                RangeSplit r = (RangeSplit) in;
                return Batches.range(r.from(), r.to());
            }
            case TEXT -> {
                return new TextSplitReader((TextSplit) in);
            }
            case LIST -> {
                return Batches.of((List<?>) in);
            }
            default -> {}
        }
        int bucket = partition - path.firstPartition();
        List<Object> side0 = new ArrayList<>();
        boolean twoSided = source.kind() == SourceKind.JOIN || source.kind() == SourceKind.COGROUP;
        List<Object> side1 = twoSided ? new ArrayList<>() : side0;
        for (int i = first; i < args.length; i++) {
            if (!(args[i] instanceof ShuffleOutput so)) {
                throw new QuiverException(source.name() + ": expected a shuffle map output, got "
                        + (args[i] == null ? "null" : args[i].getClass().getName()));
            }
            // One bucket: a one-to-one read of a side already hash-partitioned the same way
            // (partitionBy remembered), or a shuffle into one partition; either way it is this task's.
            Object b = so.buckets() == 1 ? so.bucket(0) : so.bucket(bucket);
            if (b != null) {
                (so.side() == 0 ? side0 : side1).add(b);
            }
        }
        return switch (source.kind()) {
            case REDUCE_BY_KEY -> Shuffles.readCombined(side0, (Fn2) fn(fns, source.function()),
                    reducer(source.function()), source.name());
            case GROUP_BY_KEY -> Shuffles.readGrouped(side0, source.name());
            case REPARTITION, COALESCE -> Shuffles.readConcatenated(side0, source.name());
            case JOIN -> Shuffles.readJoined(side0, side1, source.name());
            case COGROUP -> KeyedOps.readCogrouped(side0, side1, source.name());
            case PARTITION_BY -> KeyedOps.readPairs(side0, source.name());
            case SORT_BY_KEY -> KeyedOps.readSorted(side0, (RangePartitioner) fn(fns, source.function()),
                    source.name());
            default -> throw new IllegalStateException("unknown source " + source.kind());
        };
    }

    /**
     * Wraps the source in the path's first {@code end} operators: batch segments, split at each
     * mapPartitions.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private Batches chain(Batches in, Path path, Object[] args, Object[] fns, int partition, int end)
            throws Exception {
        int[] opIndices = path.ops();
        int start = 0;
        int nesting = 0;
        for (int i = 0; i <= end; i++) {
            if (i < end && !isPartitionOp(ops[opIndices[i]].kind())) {
                continue;
            }
            if (i > start) {
                in = new Segment(in, ops, Arrays.copyOfRange(opIndices, start, i),
                        Arrays.copyOfRange(path.pinArgs(), start, i), args, fns);
            }
            if (i < end && ops[opIndices[i]].kind() != Kind.MAP_PARTITIONS
                    && ops[opIndices[i]].kind() != Kind.MAP_PARTITIONS_WITH_INDEX) {
                Op op = ops[opIndices[i]]; // a keyed operator over an already hash-partitioned input
                in = switch (op.kind()) {
                    case REDUCE_BY_KEY -> KeyedOps.localReduce(in, (Fn2) fn(fns, op.function()), reducer(op.function()),
                            op.name());
                    case GROUP_BY_KEY -> KeyedOps.localGroup(in, op.name());
                    default -> KeyedOps.localPairs(in, op.name());
                };
                start = i + 1;
            } else if (i < end) { // a mapPartitions
                Op op = ops[opIndices[i]];
                Iterator<Object> input = Batches.iterator(in);
                if (++nesting % MAX_ITERATOR_NESTING == 0) {
                    List<Object> all = new ArrayList<>();
                    input.forEachRemaining(all::add);
                    input = all.iterator();
                }
                Iterator<?> out = op.kind() == Kind.MAP_PARTITIONS
                        ? (Iterator<?>) ((Fn1) fn(fns, op.function())).apply(input)
                        : (Iterator<?>) ((Fn2) fn(fns, op.function())).apply(
                                partition + path.opPartitionOffsets()[i], input);
                if (out == null) {
                    throw new QuiverException(op.name() + ": the function returned null; return an iterator"
                            + " (an empty one for no elements)");
                }
                in = Batches.of(out);
                start = i + 1;
            }
        }
        return in;
    }

    /** Operators that take a whole partition (they end a batch segment). */
    private static boolean isPartitionOp(Kind kind) {
        return kind == Kind.MAP_PARTITIONS || kind == Kind.MAP_PARTITIONS_WITH_INDEX || kind.isWide();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Object[] drain(Batches in, Object[] fns, int partition) throws Exception {
        switch (sink.kind()) {
            case SHUFFLE -> {
                return switch (sink.shuffle()) {
                    case GROUP_BY_KEY, JOIN, COGROUP, PARTITION_BY -> new Object[] {Shuffles.writePairs(in,
                            sink.buckets(), sink.side(), sink.name())};
                    case SORT_BY_KEY -> new Object[] {Shuffles.output(sink.side(), KeyedOps.writeRanged(in,
                            (RangePartitioner) fn(fns, sink.function()), sink.buckets(), sink.name()))};
                    case REPARTITION -> new Object[] {Shuffles.writeRoundRobin(in, sink.buckets(), partition)};
                    case COALESCE -> new Object[] {Shuffles.writeWhole(in, sink.buckets(),
                            LogicalNode.coalesceGroup(partition, partitions(), sink.buckets()))};
                    default -> throw new IllegalStateException("not a shuffle: " + sink.shuffle());
                };
            }
            case PERSIST -> {
                return new Object[] {collect(in)};
            }
            default -> {}
        }
        Batch batch = new Batch();
        switch (sink.action()) {
            case COLLECT -> {
                return new Object[] {collect(in)};
            }
            case COUNT -> {
                long n = 0;
                while (in.next(batch)) {
                    n += batch.size;
                }
                return new Object[] {n};
            }
            case REDUCE -> {
                Fn2 fn = (Fn2) fn(fns, sink.function());
                boolean any = false;
                Object acc = null;
                while (in.next(batch)) {
                    for (int i = 0; i < batch.size; i++) {
                        if (any) {
                            acc = fn.apply(acc, batch.items[i]);
                        } else {
                            acc = batch.items[i];
                            any = true;
                        }
                    }
                }
                return new Object[] {any ? new Object[] {acc} : new Object[0]};
            }
            default -> throw new IllegalStateException("unknown action " + sink.action());
        }
    }

    private static ArrayList<Object> collect(Batches in) throws Exception {
        ArrayList<Object> list = new ArrayList<>();
        Batch batch = new Batch();
        while (in.next(batch)) {
            list.addAll(Arrays.asList(batch.items).subList(0, batch.size));
        }
        return list;
    }

    /** Rethrows any throwable without wrapping, so a user's checked exception keeps its type. */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> RuntimeException sneaky(Throwable t) throws E {
        throw (E) t;
    }

    /**
     * A run of a path's operators with what each needs at run time: kind, name (for errors), user
     * function and pinned value, as parallel arrays. Confined to one task's thread.
     */
    static final class Operators {
        final Kind[] kinds;
        final String[] names;
        final Object[] fns;
        final Object[] pinned;

        /**
         * @param opIndices indices into {@code ops}, in order
         * @param pinArgs for each, the argument index of its pinned value, or -1
         */
        Operators(Op[] ops, int[] opIndices, int[] pinArgs, Object[] args, Object[] stageFns) {
            int n = opIndices.length;
            kinds = new Kind[n];
            names = new String[n];
            fns = new Object[n];
            pinned = new Object[n];
            for (int i = 0; i < n; i++) {
                Op op = ops[opIndices[i]];
                kinds[i] = op.kind();
                names[i] = op.name();
                fns[i] = fn(stageFns, op.function());
                pinned[i] = pinArgs[i] < 0 ? null : args[pinArgs[i]];
            }
        }
    }

    /** Runs a run of narrow operators over each batch of its input. */
    private static final class Segment implements Batches {
        private final Batches in;
        private final Kind[] kinds;
        private final String[] names;
        private final Object[] fns;
        private final Object[] pinned;
        private final Batch scratch = new Batch();

        Segment(Batches in, Op[] ops, int[] opIndices, int[] pinArgs, Object[] args, Object[] stageFns) {
            this.in = in;
            Operators o = new Operators(ops, opIndices, pinArgs, args, stageFns);
            kinds = o.kinds;
            names = o.names;
            fns = o.fns;
            pinned = o.pinned;
        }

        @Override
        public boolean next(Batch out) throws Exception {
            while (in.next(out)) {
                for (int k = 0; k < kinds.length && out.size > 0; k++) {
                    apply(k, out);
                }
                if (out.size > 0) {
                    return true;
                }
            }
            return false;
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private void apply(int k, Batch b) throws Exception {
            Object[] items = b.items;
            int n = b.size;
            switch (kinds[k]) {
                case MAP -> {
                    Fn1 f = (Fn1) fns[k];
                    for (int i = 0; i < n; i++) {
                        items[i] = f.apply(items[i]);
                    }
                }
                case MAP_PINNED -> {
                    Fn2 f = (Fn2) fns[k];
                    Object p = pinned[k];
                    for (int i = 0; i < n; i++) {
                        items[i] = f.apply(items[i], p);
                    }
                }
                case FILTER -> {
                    Pred f = (Pred) fns[k];
                    int w = 0;
                    for (int i = 0; i < n; i++) {
                        Object x = items[i];
                        if (f.test(x)) {
                            items[w++] = x;
                        }
                    }
                    Arrays.fill(items, w, n, null);
                    b.size = w;
                }
                case FILTER_PINNED -> {
                    Fn2 f = (Fn2) fns[k];
                    Object p = pinned[k];
                    int w = 0;
                    for (int i = 0; i < n; i++) {
                        Object x = items[i];
                        if (RowOps.kept(names[k], x, f.apply(x, p))) {
                            items[w++] = x;
                        }
                    }
                    Arrays.fill(items, w, n, null);
                    b.size = w;
                }
                case FLAT_MAP -> {
                    Fn1 f = (Fn1) fns[k];
                    scratch.clear();
                    for (int i = 0; i < n; i++) {
                        Iterable<?> out = (Iterable<?>) f.apply(items[i]);
                        if (out == null) {
                            throw new QuiverException(names[k] + ": the function returned null for " + items[i]
                                    + "; return an empty collection for no elements");
                        }
                        for (Object o : out) {
                            scratch.add(o);
                        }
                    }
                    b.swap(scratch);
                    scratch.clear();
                }
                case KEY_BY -> {
                    Fn1 f = (Fn1) fns[k];
                    for (int i = 0; i < n; i++) {
                        items[i] = KV.of(f.apply(items[i]), items[i]);
                    }
                }
                case MAP_TO_PAIR -> {
                    Fn1 f = (Fn1) fns[k];
                    for (int i = 0; i < n; i++) {
                        items[i] = f.apply(items[i]);
                    }
                }
                case MAP_VALUES -> {
                    Fn1 f = (Fn1) fns[k];
                    for (int i = 0; i < n; i++) {
                        items[i] = RowOps.mapValue(names[k], items[i], f);
                    }
                }
                default -> throw new IllegalStateException("not a fusable operator: " + kinds[k]);
            }
        }
    }
}
