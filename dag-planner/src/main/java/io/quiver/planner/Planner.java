package io.quiver.planner;

import io.quiver.RefId;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.plan.RangeSplit;
import io.quiver.core.plan.StageFunction;
import io.quiver.core.plan.StageFunction.SinkKind;
import io.quiver.core.plan.StageFunction.SourceKind;
import io.quiver.core.plan.TextSplit;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns a {@link LogicalPlan} and a {@link ClusterView} into a {@link PhysicalPlan}. Pure: no I/O,
 * no threads, no user classes (functions stay serialized bytes), and no recursion, so a 1,000-operator
 * plan costs a few linear passes.
 *
 * <p>Cutting stages: a stage computes one <em>output node</em> for one purpose (its role): the
 * result of the job, a persisted dataset's partitions, or one side of a shuffle. Walking up from the
 * output node, narrow operators and unions fuse into the stage; the walk stops at a stage's
 * <em>leaves</em>: sources, wide operators (whose reduce side the stage runs, reading the buckets of
 * the shuffle-map stage below), and persisted nodes (read from their persist stage). A union
 * makes one path per leaf; each path covers the contiguous partitions its leaf contributes.
 *
 * <p>Stage order: a stage depends only on stages whose output node has a smaller index (or the
 * same node in an earlier role), so sorting by (output node, role) yields dependency order.
 */
public final class Planner {
    private Planner() {}

    /** Plans a job. Throws IllegalArgumentException only for plans that {@link LogicalPlan} would reject. */
    public static PhysicalPlan plan(LogicalPlan plan, ClusterView view) {
        return new Planning(plan, view).run();
    }

    /** In dependency order for the same output node: persist, then shuffle map, then result. */
    private enum Role {
        PERSIST,
        SHUFFLE_MAP,
        RESULT
    }

    /** A stage's identity. For SHUFFLE_MAP: {@code output} is input {@code side} of node {@code wide}. */
    private record Key(int output, Role role, int wide, int side) {
        static final Comparator<Key> ORDER = Comparator.comparingInt(Key::output)
                .thenComparing(Key::role)
                .thenComparingInt(Key::wide)
                .thenComparingInt(Key::side);
    }

    /** A chain of node indices built while walking up: {@code head} is the most upstream op so far. */
    private record Cons(int node, int offset, Cons next, int length) {}

    /** {@code at}: the stage partition of the node's partition 0 (unions shift their right side). */
    private record Frame(int node, Cons ops, int at) {}

    /**
     * One path of a stage: its leaf, its fused ops in execution order (with, for each, what to add
     * to a stage partition to get the op's own partition) and its partition range.
     */
    private record Leaf(int node, boolean persistRead, int[] ops, int[] offsets, int firstPartition,
            int partitions) {}

    private record Body(List<Leaf> leaves, List<Key> deps, List<Integer> unions) {}

    private static final class Planning {
        private final LogicalPlan plan;
        private final ClusterView view;
        private final Map<String, Integer> executorOrder = new HashMap<>();
        /** Per node: the hash partition count of its pairs, or 0 (see LogicalNode.hashPartitions). */
        private final int[] hash;
        /** The node the result stage computes: the root, or the input of a root {@code partitions} slice. */
        private final int resultNode;

        Planning(LogicalPlan plan, ClusterView view) {
            this.plan = plan;
            this.view = view;
            this.hash = LogicalNode.hashPartitions(plan.nodes());
            LogicalNode root = plan.node(plan.root());
            this.resultNode = root.kind() == Kind.PARTITIONS ? root.input(0) : plan.root();
            for (int i = 0; i < view.executors().size(); i++) {
                executorOrder.putIfAbsent(view.executors().get(i), i);
            }
        }

        PhysicalPlan run() {
            Map<Key, Body> bodies = new HashMap<>();
            Deque<Key> work = new ArrayDeque<>();
            work.add(new Key(resultNode, Role.RESULT, -1, -1));
            while (!work.isEmpty()) {
                Key key = work.poll();
                if (bodies.containsKey(key)) {
                    continue;
                }
                Body body = walk(key);
                bodies.put(key, body);
                for (Key dep : body.deps()) {
                    if (!bodies.containsKey(dep)) {
                        work.add(dep);
                    }
                }
            }
            List<Key> order = new ArrayList<>(bodies.keySet());
            order.sort(Key.ORDER);
            Map<Key, Integer> ids = new HashMap<>();
            for (int i = 0; i < order.size(); i++) {
                ids.put(order.get(i), i);
            }
            List<Stage> stages = new ArrayList<>(order.size());
            List<PersistedOutput> persisted = new ArrayList<>();
            for (int i = 0; i < order.size(); i++) {
                Key key = order.get(i);
                Stage stage = build(i, key, bodies.get(key), ids);
                if (key.role() == Role.RESULT && resultNode != plan.root()) {
                    stage = slice(stage, plan.node(plan.root()));
                }
                stages.add(stage);
                if (key.role() == Role.PERSIST) {
                    persisted.add(new PersistedOutput(key.output(), i, stage.partitions()));
                }
            }
            return new PhysicalPlan(stages, plan.action(), persisted);
        }

        /**
         * The result stage of a plan rooted at a {@code partitions} slice: only the tasks of the
         * selected partitions run (their results come back in partition order). Earlier stages run
         * whole.
         */
        private static Stage slice(Stage s, LogicalNode slice) {
            List<TaskSpec> tasks = s.tasks().subList((int) slice.from(), (int) slice.to());
            return new Stage(s.id(), s.kind(), s.operators(), s.sink() + " of partitions " + slice.from() + ".."
                    + (slice.to() - 1), s.parents(), s.pinnedInputs(), s.outputsPerTask(), s.function(), tasks);
        }

        /** A wide operator whose input is already hash-partitioned into its partition count: no shuffle. */
        private boolean fusedKeyed(int node) {
            LogicalNode n = plan.node(node);
            return (n.kind() == Kind.REDUCE_BY_KEY || n.kind() == Kind.GROUP_BY_KEY || n.kind() == Kind.PARTITION_BY
                    && n.function() == null) && hash[n.input(0)] == n.partitions();
        }

        /** Cuts a stage boundary. */
        private boolean shuffles(int node) {
            return plan.node(node).kind().isWide() && !fusedKeyed(node);
        }

        /**
         * Side {@code side} of a join or cogroup is already hash-partitioned into the output's
         * partition count: reduce task j reads map task j's whole partition only (one-to-one, no
         * shuffle of that side).
         */
        private boolean oneToOne(int wide, int side) {
            LogicalNode w = plan.node(wide);
            return (w.kind() == Kind.JOIN || w.kind() == Kind.COGROUP) && hash[w.input(side)] == w.partitions();
        }

        /** Finds a stage's paths, walking up from its output node through narrow operators and unions. */
        private Body walk(Key key) {
            int x = key.output();
            List<Leaf> leaves = new ArrayList<>();
            List<Integer> unions = new ArrayList<>();
            if (plan.node(x).persist() && key.role() != Role.PERSIST) {
                leaves.add(new Leaf(x, true, new int[0], new int[0], 0, plan.node(x).partitions()));
            } else {
                Deque<Frame> stack = new ArrayDeque<>();
                stack.push(new Frame(x, null, 0));
                int offset = 0;
                while (!stack.isEmpty()) {
                    Frame f = stack.pop();
                    LogicalNode n = plan.node(f.node());
                    boolean persistRead = f.node() != x && n.persist();
                    if (persistRead || n.kind().isSource() || shuffles(f.node())) {
                        leaves.add(new Leaf(f.node(), persistRead, toArray(f.ops()), offsets(f.ops()), offset,
                                n.partitions()));
                        offset += n.partitions();
                    } else if (n.kind() == Kind.UNION) {
                        unions.add(f.node());
                        int right = f.at() + plan.node(n.input(0)).partitions();
                        stack.push(new Frame(n.input(1), f.ops(), right)); // popped after the left side
                        stack.push(new Frame(n.input(0), f.ops(), f.at()));
                    } else {
                        int length = f.ops() == null ? 1 : f.ops().length() + 1;
                        stack.push(new Frame(n.input(0), new Cons(f.node(), -f.at(), f.ops(), length), f.at()));
                    }
                }
            }
            List<Key> deps = new ArrayList<>();
            for (Leaf leaf : leaves) {
                LogicalNode n = plan.node(leaf.node());
                if (leaf.persistRead()) {
                    deps.add(new Key(leaf.node(), Role.PERSIST, -1, -1));
                } else if (shuffles(leaf.node())) {
                    for (int s = 0; s < n.inputCount(); s++) {
                        deps.add(new Key(n.input(s), Role.SHUFFLE_MAP, leaf.node(), s));
                    }
                }
            }
            return new Body(leaves, deps, unions);
        }

        private static int[] offsets(Cons ops) {
            if (ops == null) {
                return new int[0];
            }
            int[] out = new int[ops.length()];
            int i = 0;
            for (Cons c = ops; c != null; c = c.next()) {
                out[i++] = c.offset();
            }
            return out;
        }

        private static int[] toArray(Cons ops) {
            if (ops == null) {
                return new int[0];
            }
            int[] out = new int[ops.length()];
            int i = 0;
            for (Cons c = ops; c != null; c = c.next()) {
                out[i++] = c.node();
            }
            return out;
        }

        private Stage build(int id, Key key, Body body, Map<Key, Integer> ids) {
            List<byte[]> functions = new ArrayList<>();
            Map<Integer, Integer> functionSlots = new HashMap<>();
            List<StageFunction.Op> ops = new ArrayList<>();
            Map<Integer, Integer> opSlots = new HashMap<>();
            List<StageFunction.Path> paths = new ArrayList<>();
            TreeMap<Integer, String> operatorNames = new TreeMap<>();
            LinkedHashMap<RefId, PinnedInput> pinned = new LinkedHashMap<>();
            TreeSet<Integer> parents = new TreeSet<>();
            List<TaskSpec> tasks = new ArrayList<>(plan.node(key.output()).partitions());

            for (Leaf leaf : body.leaves()) {
                LogicalNode source = plan.node(leaf.node());
                // the path's ops and pinned refs
                int[] opIdx = new int[leaf.ops().length];
                int[] pinArgs = new int[leaf.ops().length];
                List<RefId> pathPins = new ArrayList<>();
                for (int k = 0; k < leaf.ops().length; k++) {
                    int nodeIndex = leaf.ops()[k];
                    LogicalNode n = plan.node(nodeIndex);
                    Integer slot = opSlots.get(nodeIndex);
                    if (slot == null) {
                        slot = ops.size();
                        opSlots.put(nodeIndex, slot);
                        ops.add(new StageFunction.Op(n.kind(), n.kind().displayName(),
                                functionSlot(nodeIndex, n.function(), functions, functionSlots)));
                        operatorNames.put(nodeIndex, fusedKeyed(nodeIndex) ? n.describe()
                                + " (no shuffle: input already hash-partitioned into " + n.partitions() + ")"
                                : n.describe());
                    }
                    opIdx[k] = slot;
                    pinArgs[k] = -1;
                    if (n.kind().isPinned()) {
                        int at = pathPins.indexOf(n.pinned());
                        if (at < 0) {
                            at = pathPins.size();
                            pathPins.add(n.pinned());
                            pinned.computeIfAbsent(n.pinned(), r -> pinnedInput(r, n.pinnedBroadcast()));
                        }
                        pinArgs[k] = 1 + at;
                    }
                }
                StageFunction.Source src = source(leaf, source, functions, functionSlots);
                operatorNames.put(leaf.node(), leaf.persistRead() ? "persisted(" + source.describe() + ")"
                        : source.describe());
                int firstSourceArg = 1 + pathPins.size();
                paths.add(new StageFunction.Path(leaf.firstPartition(), leaf.partitions(), src, opIdx, pinArgs,
                        firstSourceArg, leaf.offsets()));

                // the path's tasks
                List<PinnedInput> pathPinned = new ArrayList<>(pathPins.size());
                for (RefId r : pathPins) {
                    pathPinned.add(pinned.get(r));
                }
                int[] mapStages = null;
                if (leaf.persistRead()) {
                    parents.add(ids.get(new Key(leaf.node(), Role.PERSIST, -1, -1)));
                } else if (shuffles(leaf.node())) {
                    mapStages = new int[source.inputCount()];
                    for (int s = 0; s < mapStages.length; s++) {
                        mapStages[s] = ids.get(new Key(source.input(s), Role.SHUFFLE_MAP, leaf.node(), s));
                        parents.add(mapStages[s]);
                    }
                }
                for (int j = 0; j < leaf.partitions(); j++) {
                    int partition = leaf.firstPartition() + j;
                    List<TaskInput> inputs = new ArrayList<>(firstSourceArg + 1);
                    inputs.add(new TaskInput.Inline(partition));
                    for (RefId r : pathPins) {
                        inputs.add(new TaskInput.Pinned(r));
                    }
                    PinnedInput partitionRef = null;
                    if (leaf.persistRead()) {
                        inputs.add(new TaskInput.StageOutput(ids.get(new Key(leaf.node(), Role.PERSIST, -1, -1)),
                                j, 0));
                    } else if (mapStages != null) {
                        for (int s = 0; s < mapStages.length; s++) {
                            if (oneToOne(leaf.node(), s)) {
                                // Map task j wrote this side's rows, already partitioned, as its one bucket.
                                inputs.add(new TaskInput.ShuffleRead(mapStages[s], j, 0));
                                continue;
                            }
                            int mapTasks = plan.node(source.input(s)).partitions();
                            int from = 0;
                            int to = mapTasks;
                            if (source.kind() == Kind.COALESCE) {
                                // Narrow: only this partition's contiguous group, never all map tasks.
                                from = LogicalNode.coalesceFirst(j, mapTasks, leaf.partitions());
                                to = LogicalNode.coalesceFirst(j + 1, mapTasks, leaf.partitions());
                            }
                            for (int m = from; m < to; m++) {
                                inputs.add(new TaskInput.ShuffleRead(mapStages[s], m, j));
                            }
                        }
                    } else {
                        switch (source.kind()) {
                            case PARALLELIZE -> inputs.add(new TaskInput.Inline(source.items().get(j)));
                            case RANGE -> inputs.add(new TaskInput.Inline(new RangeSplit(
                                    split(source.from(), source.to(), j, leaf.partitions()),
                                    split(source.from(), source.to(), j + 1, leaf.partitions()))));
                            case TEXT_FILE -> inputs.add(new TaskInput.Inline(new TextSplit(source.path(),
                                    split(0, source.fileLength(), j, leaf.partitions()),
                                    split(0, source.fileLength(), j + 1, leaf.partitions()))));
                            case PERSISTED -> {
                                RefId r = source.refs().get(j);
                                inputs.add(new TaskInput.Pinned(r));
                                partitionRef = pinned.computeIfAbsent(r, x -> pinnedInput(x, false));
                            }
                            default -> throw new IllegalStateException("not a source: " + source.kind());
                        }
                    }
                    tasks.add(new TaskSpec(partition, inputs, preferences(pathPinned, partitionRef)));
                }
            }

            for (int u : body.unions()) {
                operatorNames.put(u, plan.node(u).describe());
            }
            StageFunction.Sink sink = sink(key, functions, functionSlots);
            List<String> names = new ArrayList<>(operatorNames.values());
            String label = "stage " + id + ": " + String.join(" -> ", names);
            if (label.length() > 200) {
                label = label.substring(0, 197) + "...";
            }
            StageFunction function = new StageFunction(label, functions, ops, paths, sink);
            Stage.Kind kind = switch (key.role()) {
                case PERSIST -> Stage.Kind.PERSIST;
                case SHUFFLE_MAP -> Stage.Kind.SHUFFLE_MAP;
                case RESULT -> Stage.Kind.RESULT;
            };
            return new Stage(id, kind, names, describeSink(key), new ArrayList<>(parents),
                    new ArrayList<>(pinned.values()), function.outputs(), function, tasks);
        }

        private StageFunction.Source source(Leaf leaf, LogicalNode n, List<byte[]> functions,
                Map<Integer, Integer> functionSlots) {
            String name = n.kind().displayName();
            if (leaf.persistRead()) {
                return new StageFunction.Source(SourceKind.LIST, "persisted", -1, null);
            }
            return switch (n.kind()) {
                case PARALLELIZE -> new StageFunction.Source(SourceKind.ITEMS, name, -1, null);
                case RANGE -> new StageFunction.Source(SourceKind.RANGE, name, -1, null);
                case TEXT_FILE -> new StageFunction.Source(SourceKind.TEXT, name, -1, null);
                case PERSISTED -> new StageFunction.Source(SourceKind.LIST, name, -1, null);
                case REDUCE_BY_KEY -> new StageFunction.Source(SourceKind.REDUCE_BY_KEY, name,
                        functionSlot(leaf.node(), n.function(), functions, functionSlots), sideTasks(n));
                case GROUP_BY_KEY -> new StageFunction.Source(SourceKind.GROUP_BY_KEY, name, -1, sideTasks(n));
                case JOIN -> new StageFunction.Source(SourceKind.JOIN, name, -1, sideTasks(leaf.node(), n));
                case REPARTITION -> new StageFunction.Source(SourceKind.REPARTITION, name, -1, sideTasks(n));
                case COALESCE -> new StageFunction.Source(SourceKind.COALESCE, name, -1, sideTasks(n));
                case COGROUP -> new StageFunction.Source(SourceKind.COGROUP, name, -1, sideTasks(leaf.node(), n));
                case PARTITION_BY -> new StageFunction.Source(SourceKind.PARTITION_BY, name, -1, sideTasks(n));
                case SORT_BY_KEY -> new StageFunction.Source(SourceKind.SORT_BY_KEY, name,
                        functionSlot(leaf.node(), n.function(), functions, functionSlots), sideTasks(n));
                default -> throw new IllegalStateException("not a stage leaf: " + n.kind());
            };
        }

        /** Like {@link #sideTasks(LogicalNode)}: a one-to-one side contributes one bucket. */
        private int[] sideTasks(int node, LogicalNode wide) {
            int[] sides = sideTasks(wide);
            for (int s = 0; s < sides.length; s++) {
                if (oneToOne(node, s)) {
                    sides[s] = 1;
                }
            }
            return sides;
        }

        private int[] sideTasks(LogicalNode wide) {
            int[] sides = new int[wide.inputCount()];
            for (int s = 0; s < sides.length; s++) {
                sides[s] = plan.node(wide.input(s)).partitions();
            }
            return sides;
        }

        private StageFunction.Sink sink(Key key, List<byte[]> functions, Map<Integer, Integer> functionSlots) {
            switch (key.role()) {
                case PERSIST -> {
                    return new StageFunction.Sink(SinkKind.PERSIST, null, null, "persist", -1, 1);
                }
                case SHUFFLE_MAP -> {
                    LogicalNode w = plan.node(key.wide());
                    int fn = w.kind() == Kind.REDUCE_BY_KEY || w.kind() == Kind.SORT_BY_KEY
                            ? functionSlot(key.wide(), w.function(), functions, functionSlots) : -1;
                    return new StageFunction.Sink(SinkKind.SHUFFLE, w.kind(), null, w.kind().displayName(), fn,
                            oneToOne(key.wide(), key.side()) ? 1 : w.partitions(), key.side());
                }
                default -> {
                    Action action = plan.action();
                    int fn = action.kind() == Action.Kind.REDUCE
                            ? functionSlot(-1, action.function(), functions, functionSlots) : -1;
                    return new StageFunction.Sink(SinkKind.RESULT, null, action.kind(), action.toString(), fn, 1);
                }
            }
        }

        private String describeSink(Key key) {
            return switch (key.role()) {
                case PERSIST -> "persist: keeps its partitions";
                case RESULT -> "result: " + plan.action();
                case SHUFFLE_MAP -> {
                    LogicalNode w = plan.node(key.wide());
                    if (w.kind() == Kind.COALESCE) {
                        yield "coalesce: each partition kept whole for its group of " + w.partitions()
                                + " (no hash exchange)";
                    }
                    String sideName = w.inputCount() == 2 ? (key.side() == 0 ? " left" : " right") : "";
                    if (oneToOne(key.wide(), key.side())) {
                        yield "one-to-one for " + w.kind().displayName() + sideName
                                + ", no shuffle: already hash-partitioned into " + w.partitions();
                    }
                    yield "shuffle map for " + w.kind().displayName() + sideName
                            + (w.kind() == Kind.REDUCE_BY_KEY ? " with map-side combine" : "") + ", "
                            + w.partitions() + " buckets";
                }
            };
        }

        private static int functionSlot(int owner, byte[] function, List<byte[]> functions,
                Map<Integer, Integer> slots) {
            if (function == null) {
                return -1;
            }
            return slots.computeIfAbsent(owner, o -> {
                functions.add(function);
                return functions.size() - 1;
            });
        }

        private PinnedInput pinnedInput(RefId ref, boolean broadcastInPlan) {
            ClusterView.RefLocation loc = view.location(ref);
            boolean broadcast = broadcastInPlan || (loc != null && loc.broadcast());
            return new PinnedInput(ref, broadcast, loc == null ? List.of() : new ArrayList<>(loc.holders()));
        }

        /**
         * Live executors holding the task's non-broadcast pinned inputs, those holding more of them
         * first, ties in the view's executor order. Broadcast inputs are everywhere: no preference.
         */
        private List<String> preferences(List<PinnedInput> pins, PinnedInput partitionRef) {
            Map<String, Integer> counts = null;
            int n = pins.size() + (partitionRef == null ? 0 : 1);
            for (int i = 0; i < n; i++) {
                PinnedInput p = i < pins.size() ? pins.get(i) : partitionRef;
                if (p.broadcast()) {
                    continue;
                }
                for (String h : p.holders()) {
                    if (executorOrder.containsKey(h)) {
                        if (counts == null) {
                            counts = new HashMap<>();
                        }
                        counts.merge(h, 1, Integer::sum);
                    }
                }
            }
            if (counts == null) {
                return List.of();
            }
            Map<String, Integer> c = counts;
            List<String> out = new ArrayList<>(c.keySet());
            out.sort(Comparator.<String>comparingInt(e -> -c.get(e)).thenComparingInt(executorOrder::get));
            return out;
        }
    }

    /** The start of split {@code i} of {@code n} equal splits of {@code [from, to)}; empty when to <= from. */
    static long split(long from, long to, int i, int n) {
        if (to <= from) {
            return from;
        }
        try {
            return from + Math.multiplyExact(Math.subtractExact(to, from), (long) i) / n;
        } catch (ArithmeticException overflow) {
            return BigInteger.valueOf(to).subtract(BigInteger.valueOf(from)).multiply(BigInteger.valueOf(i))
                    .divide(BigInteger.valueOf(n)).add(BigInteger.valueOf(from)).longValueExact();
        }
    }
}
