package io.quiver.core.plan;

import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.plan.LogicalNode.Kind;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A job as the client ships it: a flat DAG of {@link LogicalNode}s, the node whose partitions the
 * job computes ({@link #root()}), and the {@link Action} applied to them. Every node's inputs are
 * indices of earlier nodes, so the array is in topological order and nothing (building, encoding,
 * planning, explaining) needs recursion. Immutable and thread-safe.
 *
 * <p>{@link #toBytes()}/{@link #fromBytes(byte[])} use a self-contained binary format made of
 * engine types only, so the leader decodes a plan without any user class on its class path.
 */
public final class LogicalPlan {
    private static final int MAGIC = 0x51504c31; // "QPL1"

    private final LogicalNode[] nodes;
    private final int root;
    private final Action action;

    private LogicalPlan(LogicalNode[] nodes, int root, Action action) {
        this.nodes = nodes;
        this.root = root;
        this.action = action;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int size() {
        return nodes.length;
    }

    public LogicalNode node(int index) {
        return nodes[index];
    }

    public List<LogicalNode> nodes() {
        return List.of(nodes);
    }

    /** The index of the node whose partitions the action consumes. */
    public int root() {
        return root;
    }

    public Action action() {
        return action;
    }

    /** The same DAG with another action (e.g. for {@code explain}). */
    public LogicalPlan withAction(Action newAction) {
        return new LogicalPlan(nodes, root, java.util.Objects.requireNonNull(newAction));
    }

    @Override
    public String toString() {
        return "LogicalPlan[" + nodes.length + " nodes, root " + root + ", " + action + "]";
    }

    /** Collects nodes in order; {@link #add} fills in the partition counts of narrow operators. */
    public static final class Builder {
        private final List<LogicalNode> nodes = new ArrayList<>();

        private Builder() {}

        /** Adds a node whose inputs are already added; returns its index. */
        public int add(LogicalNode node) {
            int index = nodes.size();
            for (int i = 0; i < node.inputCount(); i++) {
                int in = node.input(i);
                if (in < 0 || in >= index) {
                    throw new IllegalArgumentException(node.kind().displayName() + ": input " + in
                            + " must be an earlier node (0.." + (index - 1) + ")");
                }
            }
            LogicalNode n = node;
            if (node.kind() == Kind.UNION) {
                n = node.withPartitions(nodes.get(node.input(0)).partitions() + nodes.get(node.input(1)).partitions());
            } else if (node.kind() == Kind.PARTITIONS) {
                n = node; // its own [from, to)
            } else if (node.kind().isNarrowOp()) {
                n = node.withPartitions(nodes.get(node.input(0)).partitions());
            }
            nodes.add(n);
            return index;
        }

        /** Replaces the node at {@code index} by the same node with the persist mark set. */
        public void markPersist(int index) {
            nodes.set(index, nodes.get(index).withPersist(true));
        }

        public int size() {
            return nodes.size();
        }

        public LogicalNode get(int index) {
            return nodes.get(index);
        }

        public LogicalPlan build(int root, Action action) {
            LogicalNode[] array = nodes.toArray(new LogicalNode[0]);
            validate(array, root, action);
            return new LogicalPlan(array, root, action);
        }
    }

    /** Checks the structural invariants that the planner relies on; a violation means a corrupt plan. */
    private static void validate(LogicalNode[] nodes, int root, Action action) {
        if (action == null) {
            throw new IllegalArgumentException("a plan needs an action");
        }
        if (root < 0 || root >= nodes.length) {
            throw new IllegalArgumentException("root " + root + " is not a node of a plan of " + nodes.length);
        }
        for (int i = 0; i < nodes.length; i++) {
            LogicalNode n = nodes[i];
            Kind k = n.kind();
            if (n.inputCount() != k.inputCount()) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + ") needs " + k.inputCount()
                        + " inputs, has " + n.inputCount());
            }
            for (int j = 0; j < n.inputCount(); j++) {
                if (n.input(j) < 0 || n.input(j) >= i) {
                    throw new IllegalArgumentException(k.displayName() + " (node " + i + "): input " + n.input(j)
                            + " must be an earlier node");
                }
            }
            if (n.partitions() <= 0) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + "): partitions must be > 0, got "
                        + n.partitions());
            }
            if (k.hasFunction() && n.function() == null) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + ") has no function");
            }
            if (k.isPinned() && n.pinned() == null) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + ") has no pinned ref");
            }
            if (k == Kind.COALESCE && n.partitions() > nodes[n.input(0)].partitions()) {
                throw new IllegalArgumentException("coalesce (node " + i + "): " + n.partitions()
                        + " partitions from " + nodes[n.input(0)].partitions() + "; coalesce only merges partitions");
            }
            if (k == Kind.PARTITIONS && (i != root || n.from() < 0 || n.to() > nodes[n.input(0)].partitions()
                    || n.from() >= n.to())) {
                throw new IllegalArgumentException("partitions (node " + i + ") must be the root and select a"
                        + " non-empty range of its input's " + nodes[n.input(0)].partitions() + " partitions, got ["
                        + n.from() + ", " + n.to() + ")");
            }
            int expected = switch (k) {
                case UNION -> nodes[n.input(0)].partitions() + nodes[n.input(1)].partitions();
                case PARTITIONS -> (int) (n.to() - n.from());
                default -> k.isNarrowOp() ? nodes[n.input(0)].partitions() : n.partitions();
            };
            if (expected != n.partitions()) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + ") has " + n.partitions()
                        + " partitions, its inputs make " + expected);
            }
            if (k == Kind.PARALLELIZE && n.items().size() != n.partitions()
                    || k == Kind.PERSISTED && n.refs().size() != n.partitions()) {
                throw new IllegalArgumentException(k.displayName() + " (node " + i + ") has " + n.partitions()
                        + " partitions but data for a different number");
            }
            if (k == Kind.TEXT_FILE && (n.path() == null || n.fileLength() < 0)) {
                throw new IllegalArgumentException("textFile (node " + i + ") needs a path and a length >= 0");
            }
        }
    }

    // ---- encoding

    /** Encodes the plan; {@link #fromBytes} reads it back with engine classes only. */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256 + nodes.length * 64);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeByte(action.kind().code);
            writeBytes(out, action.function());
            out.writeInt(root);
            out.writeInt(nodes.length);
            for (LogicalNode n : nodes) {
                out.writeByte(n.kind().code);
                out.writeBoolean(n.persist());
                out.writeInt(n.partitions());
                out.writeByte(n.inputCount());
                for (int j = 0; j < n.inputCount(); j++) {
                    out.writeInt(n.input(j));
                }
                writeBytes(out, n.function());
                switch (n.kind()) {
                    case PARALLELIZE -> {
                        out.writeInt(n.items().size());
                        for (byte[] b : n.items()) {
                            writeBytes(out, b);
                        }
                    }
                    case RANGE, PARTITIONS -> {
                        out.writeLong(n.from());
                        out.writeLong(n.to());
                    }
                    case TEXT_FILE -> {
                        writeString(out, n.path());
                        out.writeLong(n.fileLength());
                    }
                    case PERSISTED -> {
                        out.writeInt(n.refs().size());
                        for (RefId r : n.refs()) {
                            out.writeLong(r.owner());
                            out.writeLong(r.seq());
                        }
                        out.writeLong(n.from()); // remembered hash partitioning
                    }
                    case MAP_PINNED, FILTER_PINNED -> {
                        out.writeLong(n.pinned().owner());
                        out.writeLong(n.pinned().seq());
                        out.writeBoolean(n.pinnedBroadcast());
                    }
                    default -> {}
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return bytes.toByteArray();
    }

    /**
     * Decodes and validates a plan.
     *
     * @throws QuiverException if the bytes are not a valid plan
     */
    public static LogicalPlan fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            if (in.readInt() != MAGIC) {
                throw new QuiverException("not an encoded logical plan (bad magic)");
            }
            Action.Kind actionKind = Action.Kind.of(in.readUnsignedByte());
            Action action = new Action(actionKind, readBytes(in, bytes.length));
            int root = in.readInt();
            int count = checkCount(in.readInt(), bytes.length);
            LogicalNode[] nodes = new LogicalNode[count];
            for (int i = 0; i < count; i++) {
                Kind kind = Kind.of(in.readUnsignedByte());
                boolean persist = in.readBoolean();
                int partitions = in.readInt();
                int[] inputs = new int[in.readUnsignedByte()];
                for (int j = 0; j < inputs.length; j++) {
                    inputs[j] = in.readInt();
                }
                byte[] function = readBytes(in, bytes.length);
                List<byte[]> items = null;
                List<RefId> refs = null;
                String path = null;
                long fileLength = 0;
                long from = 0;
                long to = 0;
                RefId pinned = null;
                boolean broadcast = false;
                switch (kind) {
                    case PARALLELIZE -> {
                        int n = checkCount(in.readInt(), bytes.length);
                        List<byte[]> list = new ArrayList<>(n);
                        for (int j = 0; j < n; j++) {
                            list.add(readBytes(in, bytes.length));
                        }
                        items = List.copyOf(list);
                    }
                    case RANGE, PARTITIONS -> {
                        from = in.readLong();
                        to = in.readLong();
                    }
                    case TEXT_FILE -> {
                        path = readString(in, bytes.length);
                        fileLength = in.readLong();
                    }
                    case PERSISTED -> {
                        int n = checkCount(in.readInt(), bytes.length);
                        List<RefId> list = new ArrayList<>(n);
                        for (int j = 0; j < n; j++) {
                            list.add(new RefId(in.readLong(), in.readLong()));
                        }
                        refs = List.copyOf(list);
                        from = in.readLong();
                    }
                    case MAP_PINNED, FILTER_PINNED -> {
                        pinned = new RefId(in.readLong(), in.readLong());
                        broadcast = in.readBoolean();
                    }
                    default -> {}
                }
                nodes[i] = new LogicalNode(kind, inputs, partitions, persist, function, pinned, broadcast, items,
                        refs, path, fileLength, from, to);
            }
            if (in.available() != 0) {
                throw new QuiverException("corrupt logical plan: " + in.available() + " trailing bytes");
            }
            validate(nodes, root, action);
            return new LogicalPlan(nodes, root, action);
        } catch (IOException | RuntimeException e) {
            if (e instanceof QuiverException q) {
                throw q;
            }
            throw new QuiverException("corrupt logical plan: " + e, e);
        }
    }

    private static int checkCount(int n, int limit) {
        if (n < 0 || n > limit) {
            throw new QuiverException("corrupt logical plan: count " + n);
        }
        return n;
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        if (b == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(b.length);
            out.write(b);
        }
    }

    private static byte[] readBytes(DataInputStream in, int limit) throws IOException {
        int n = in.readInt();
        if (n == -1) {
            return null;
        }
        byte[] b = new byte[checkCount(n, limit)];
        in.readFully(b);
        return b;
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        writeBytes(out, s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String readString(DataInputStream in, int limit) throws IOException {
        byte[] b = readBytes(in, limit);
        return b == null ? null : new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }
}
