package io.quiver.core.plan;

import io.quiver.RefId;
import java.util.Arrays;
import java.util.List;

/**
 * One operator of a {@link LogicalPlan}. Inputs are indices of earlier nodes of the same plan, so a
 * plan is a flat array and nothing ever recurses over it. User functions are the bytes that the
 * client produced with {@code JavaSerialization}; the leader holds them without loading user
 * classes. Immutable (arrays are never handed out for writing by engine code).
 */
public final class LogicalNode {

    /** The operator kinds. {@link #displayName()} is the API's method name, used in plans and errors. */
    public enum Kind {
        // sources
        PARALLELIZE(0, "parallelize"),
        RANGE(1, "range"),
        TEXT_FILE(2, "textFile"),
        PERSISTED(3, "persisted"),
        // narrow
        MAP(4, "map"),
        MAP_PINNED(5, "map(pinned)"),
        FLAT_MAP(6, "flatMap"),
        FILTER(7, "filter"),
        FILTER_PINNED(8, "filter(pinned)"),
        MAP_PARTITIONS(9, "mapPartitions"),
        KEY_BY(10, "keyBy"),
        MAP_TO_PAIR(11, "mapToPair"),
        MAP_VALUES(12, "mapValues"),
        UNION(13, "union"),
        // wide
        REDUCE_BY_KEY(14, "reduceByKey"),
        GROUP_BY_KEY(15, "groupByKey"),
        JOIN(16, "join"),
        REPARTITION(17, "repartition"),
        /** Merges contiguous groups of partitions: a stage boundary, but no hash exchange (see the planner). */
        COALESCE(31, "coalesce"),
        // part 7 (codes from 24 on, leaving 18..23 to the shuffle work)
        MAP_PARTITIONS_WITH_INDEX(24, "mapPartitionsWithIndex"),
        COGROUP(25, "cogroup"),
        PARTITION_BY(26, "partitionBy"),
        SORT_BY_KEY(27, "sortByKey"),
        /** Partitions {@code [from, to)} of its input: only as the root of a plan (take, first). */
        PARTITIONS(28, "partitions");

        private static final Kind[] BY_CODE = new Kind[32];

        static {
            for (Kind k : values()) {
                BY_CODE[k.code] = k;
            }
        }

        /** The kind with this code; IllegalArgumentException naming it if no kind has it. */
        public static Kind of(int code) {
            Kind k = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
            if (k == null) {
                throw new IllegalArgumentException("unknown operator code " + code + " in an encoded plan");
            }
            return k;
        }

        /** The code in an encoded plan: explicit, so reordering the constants never changes the format. */
        public final int code;
        private final String displayName;

        Kind(int code, String displayName) {
            this.code = code;
            this.displayName = displayName;
        }

        public String displayName() {
            return displayName;
        }

        public boolean isSource() {
            return this == PARALLELIZE || this == RANGE || this == TEXT_FILE || this == PERSISTED;
        }

        /** Cuts a stage boundary: its input is shuffled. */
        public boolean isWide() {
            return this == REDUCE_BY_KEY || this == GROUP_BY_KEY || this == JOIN || this == REPARTITION
                    || this == COALESCE || isWidePart7();
        }

        private boolean isWidePart7() {
            return this == COGROUP || this == PARTITION_BY || this == SORT_BY_KEY;
        }

        /**
         * A keyed shuffle by key hash ({@code Math.floorMod(key.hashCode(), n)}); when its input is
         * already hash-partitioned into as many partitions, the planner moves no data for it.
         */
        public boolean isHashShuffle() {
            return this == REDUCE_BY_KEY || this == GROUP_BY_KEY || this == JOIN || this == COGROUP
                    || this == PARTITION_BY;
        }

        /** A one-input, one-partition-to-one-partition operator that fuses into its input's stage. */
        public boolean isNarrowOp() {
            return !isSource() && !isWide() && this != UNION && this != PARTITIONS;
        }

        /** Reads a pinned ref in addition to its input. */
        public boolean isPinned() {
            return this == MAP_PINNED || this == FILTER_PINNED;
        }

        int inputCount() {
            return isSource() ? 0 : (this == UNION || this == JOIN || this == COGROUP) ? 2 : 1;
        }

        boolean hasFunction() {
            return isNarrowOp() || this == REDUCE_BY_KEY || this == SORT_BY_KEY;
        }
    }

    private static final int[] NO_INPUTS = new int[0];

    private final Kind kind;
    private final int[] inputs;
    private final int partitions;
    private final boolean persist;
    private final byte[] function;
    private final RefId pinned;
    private final boolean pinnedBroadcast;
    private final List<byte[]> items;
    private final List<RefId> refs;
    private final String path;
    private final long fileLength;
    private final long from;
    private final long to;

    LogicalNode(Kind kind, int[] inputs, int partitions, boolean persist, byte[] function, RefId pinned,
            boolean pinnedBroadcast, List<byte[]> items, List<RefId> refs, String path, long fileLength,
            long from, long to) {
        this.kind = kind;
        this.inputs = inputs;
        this.partitions = partitions;
        this.persist = persist;
        this.function = function;
        this.pinned = pinned;
        this.pinnedBroadcast = pinnedBroadcast;
        this.items = items;
        this.refs = refs;
        this.path = path;
        this.fileLength = fileLength;
        this.from = from;
        this.to = to;
    }

    // ---- factories (partition counts of narrow operators are filled in by LogicalPlan.Builder)

    /** {@code partitionItems.get(i)} is partition i, a serialized {@code ArrayList} of its items. */
    public static LogicalNode parallelize(List<byte[]> partitionItems) {
        return new LogicalNode(Kind.PARALLELIZE, NO_INPUTS, partitionItems.size(), false, null, null, false,
                List.copyOf(partitionItems), null, null, 0, 0, 0);
    }

    public static LogicalNode range(long fromInclusive, long toExclusive, int partitions) {
        return new LogicalNode(Kind.RANGE, NO_INPUTS, partitions, false, null, null, false, null, null, null, 0,
                fromInclusive, toExclusive);
    }

    /** The planner cuts {@code [0, fileLength)} into {@code partitions} byte ranges. */
    public static LogicalNode textFile(String path, long fileLength, int partitions) {
        return new LogicalNode(Kind.TEXT_FILE, NO_INPUTS, partitions, false, null, null, false, null, null, path,
                fileLength, 0, 0);
    }

    /** Partitions computed by an earlier job; partition i is the value of {@code partitionRefs.get(i)}. */
    public static LogicalNode persisted(List<RefId> partitionRefs) {
        return new LogicalNode(Kind.PERSISTED, NO_INPUTS, partitionRefs.size(), false, null, null, false, null,
                List.copyOf(partitionRefs), null, 0, 0, 0);
    }

    /** A narrow operator without a pinned input. */
    public static LogicalNode narrow(Kind kind, int input, byte[] function) {
        if (!kind.isNarrowOp() || kind.isPinned()) {
            throw new IllegalArgumentException(kind + " is not a narrow operator without a pinned input");
        }
        return new LogicalNode(kind, new int[] {input}, 0, false, function, null, false, null, null, null, 0, 0, 0);
    }

    /** {@link Kind#MAP_PINNED} or {@link Kind#FILTER_PINNED}. */
    public static LogicalNode pinned(Kind kind, int input, byte[] function, RefId ref, boolean broadcast) {
        if (!kind.isPinned()) {
            throw new IllegalArgumentException(kind + " has no pinned input");
        }
        return new LogicalNode(kind, new int[] {input}, 0, false, function, ref, broadcast, null, null, null, 0, 0,
                0);
    }

    public static LogicalNode union(int left, int right) {
        return new LogicalNode(Kind.UNION, new int[] {left, right}, 0, false, null, null, false, null, null, null,
                0, 0, 0);
    }

    public static LogicalNode reduceByKey(int input, byte[] function, int partitions) {
        return new LogicalNode(Kind.REDUCE_BY_KEY, new int[] {input}, partitions, false, function, null, false,
                null, null, null, 0, 0, 0);
    }

    public static LogicalNode groupByKey(int input, int partitions) {
        return new LogicalNode(Kind.GROUP_BY_KEY, new int[] {input}, partitions, false, null, null, false, null,
                null, null, 0, 0, 0);
    }

    public static LogicalNode join(int left, int right, int partitions) {
        return new LogicalNode(Kind.JOIN, new int[] {left, right}, partitions, false, null, null, false, null,
                null, null, 0, 0, 0);
    }

    public static LogicalNode repartition(int input, int partitions) {
        return new LogicalNode(Kind.REPARTITION, new int[] {input}, partitions, false, null, null, false, null,
                null, null, 0, 0, 0);
    }

    /** Output partition {@code j} holds input partitions {@code [coalesceFirst(j), coalesceFirst(j + 1))}. */
    public static LogicalNode coalesce(int input, int partitions) {
        return new LogicalNode(Kind.COALESCE, new int[] {input}, partitions, false, null, null, false, null,
                null, null, 0, 0, 0);
    }

    /**
     * The first of the contiguous input partitions that output partition {@code j} of a coalesce
     * of {@code parents} partitions into {@code partitions} reads: {@code ceil(j * parents /
     * partitions)}, so the groups differ in size by at most one.
     */
    public static int coalesceFirst(int j, int parents, int partitions) {
        return (int) (((long) j * parents + partitions - 1) / partitions);
    }

    /** The output partition of a coalesce that input partition {@code p} goes to: the inverse of {@link #coalesceFirst}. */
    public static int coalesceGroup(int p, int parents, int partitions) {
        return (int) ((long) p * partitions / parents);
    }

    /**
     * Partitions computed by an earlier job, remembering that they are hash-partitioned by key into
     * {@code hashPartitions} partitions (0: not hash-partitioned), as {@link #hashPartitions} said of
     * the node that computed them.
     */
    public static LogicalNode persisted(List<RefId> partitionRefs, int hashPartitions) {
        return new LogicalNode(Kind.PERSISTED, NO_INPUTS, partitionRefs.size(), false, null, null, false, null,
                List.copyOf(partitionRefs), null, 0, hashPartitions, 0);
    }

    /**
     * A wide operator of part 7: {@link Kind#COGROUP} (two inputs, no function), {@link
     * Kind#PARTITION_BY} (function null: by key hash; else a serialized {@code KeyPartitioner}), or
     * {@link Kind#SORT_BY_KEY} (a serialized {@code RangePartitioner}).
     */
    public static LogicalNode wide(Kind kind, int[] inputs, byte[] function, int partitions) {
        if (!kind.isWidePart7() || inputs.length != kind.inputCount()) {
            throw new IllegalArgumentException(kind + " is not a part-7 wide operator of " + inputs.length
                    + " inputs");
        }
        return new LogicalNode(kind, inputs.clone(), partitions, false, function, null, false, null, null, null, 0,
                0, 0);
    }

    /** Partitions {@code [from, to)} of {@code input}, as the root of a plan (what take runs). */
    public static LogicalNode partitions(int input, int from, int to) {
        return new LogicalNode(Kind.PARTITIONS, new int[] {input}, to - from, false, null, null, false, null, null,
                null, 0, from, to);
    }

    /**
     * Whether, and into how many partitions, each node's pairs are hash-partitioned by key
     * ({@code Math.floorMod(key.hashCode(), n)}): {@code n}, or 0 when nothing is known. Hash
     * shuffles partition their output; filter and mapValues keep their input's; persisted partitions
     * keep what was recorded. One pass, no recursion.
     */
    public static int[] hashPartitions(List<LogicalNode> nodes) {
        int[] out = new int[nodes.size()];
        for (int i = 0; i < out.length; i++) {
            LogicalNode n = nodes.get(i);
            out[i] = switch (n.kind) {
                case REDUCE_BY_KEY, GROUP_BY_KEY, JOIN, COGROUP -> n.partitions;
                case PARTITION_BY -> n.function == null ? n.partitions : 0;
                case FILTER, FILTER_PINNED, MAP_VALUES -> out[n.inputs[0]];
                case PERSISTED -> (int) n.from;
                default -> 0;
            };
        }
        return out;
    }

    /** This node, marked so that the runtime keeps its partitions after the job. */
    public LogicalNode withPersist(boolean persist) {
        return new LogicalNode(kind, inputs, partitions, persist, function, pinned, pinnedBroadcast, items, refs,
                path, fileLength, from, to);
    }

    LogicalNode withPartitions(int partitions) {
        return new LogicalNode(kind, inputs, partitions, persist, function, pinned, pinnedBroadcast, items, refs,
                path, fileLength, from, to);
    }

    // ---- accessors

    public Kind kind() {
        return kind;
    }

    public int inputCount() {
        return inputs.length;
    }

    public int input(int i) {
        return inputs[i];
    }

    public int partitions() {
        return partitions;
    }

    /** The runtime keeps this node's partitions (see {@code PhysicalPlan.persistedOutputs()}). */
    public boolean persist() {
        return persist;
    }

    /** The serialized user function, or null for operators without one. Do not modify. */
    public byte[] function() {
        return function;
    }

    /** The pinned ref of {@link Kind#MAP_PINNED} and {@link Kind#FILTER_PINNED}, else null. */
    public RefId pinned() {
        return pinned;
    }

    public boolean pinnedBroadcast() {
        return pinnedBroadcast;
    }

    /** The serialized partitions of {@link Kind#PARALLELIZE}, else null. */
    public List<byte[]> items() {
        return items;
    }

    /** The partition refs of {@link Kind#PERSISTED}, else null. */
    public List<RefId> refs() {
        return refs;
    }

    public String path() {
        return path;
    }

    public long fileLength() {
        return fileLength;
    }

    public long from() {
        return from;
    }

    public long to() {
        return to;
    }

    /** A short description for plans: the operator name and its salient parameters. */
    public String describe() {
        return switch (kind) {
            case RANGE -> "range(" + from + ".." + to + ")";
            case PARTITIONS -> "partitions(" + from + ".." + to + ")";
            case PARTITION_BY -> function == null ? "partitionBy(hash)" : "partitionBy(custom)";
            case TEXT_FILE -> "textFile(" + path + ")";
            case MAP_PINNED -> "map(pinned " + pinned + ")";
            case FILTER_PINNED -> "filter(pinned " + pinned + ")";
            default -> kind.displayName();
        };
    }

    @Override
    public String toString() {
        return describe() + Arrays.toString(inputs) + "x" + partitions + (persist ? " persist" : "");
    }
}
