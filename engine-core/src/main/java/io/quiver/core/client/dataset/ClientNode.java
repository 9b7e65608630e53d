package io.quiver.core.client.dataset;

import io.quiver.Ref;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.LogicalNode.Kind;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A node of the client's dataset graph: what a {@link DatasetImpl} wraps. Immutable apart from two
 * caches (the serialized function and the persisted child). Linked by references, but only ever
 * traversed with an explicit stack ({@link PlanFlattener}). A node with a {@link #persist} handle is
 * a persist marker over its single input; it has no {@link #kind}.
 */
final class ClientNode {
    final Kind kind;
    final ClientNode[] inputs;
    final int partitions;
    final Object function;
    final Ref<?> pinned;
    final List<byte[]> items;
    final long from;
    final long to;
    final String path;
    final long fileLength;
    final PersistHandle persist;
    /**
     * Into how many partitions this node's pairs are hash-partitioned by key, or 0 if unknown: the
     * client's copy of {@code LogicalNode.hashPartitions}, so a persisted dataset remembers it.
     */
    final int hashPartitions;

    private volatile byte[] functionBytes;
    /** The node {@code persist()} returned for this node, so that persisting twice persists once. */
    final AtomicReference<ClientNode> persistedChild = new AtomicReference<>();

    private ClientNode(Kind kind, ClientNode[] inputs, int partitions, Object function, Ref<?> pinned,
            List<byte[]> items, long from, long to, String path, long fileLength, PersistHandle persist) {
        this.kind = kind;
        this.inputs = inputs;
        this.partitions = partitions;
        this.function = function;
        this.pinned = pinned;
        this.items = items;
        this.from = from;
        this.to = to;
        this.path = path;
        this.fileLength = fileLength;
        this.persist = persist;
        this.hashPartitions = kind == null ? inputs[0].hashPartitions : switch (kind) {
            case REDUCE_BY_KEY, GROUP_BY_KEY, JOIN, COGROUP -> partitions;
            case PARTITION_BY -> function == null ? partitions : 0;
            case FILTER, FILTER_PINNED, MAP_VALUES -> inputs[0].hashPartitions;
            default -> 0;
        };
    }

    static ClientNode parallelize(List<byte[]> items) {
        return new ClientNode(Kind.PARALLELIZE, new ClientNode[0], items.size(), null, null, List.copyOf(items), 0,
                0, null, 0, null);
    }

    static ClientNode range(long from, long to, int partitions) {
        return new ClientNode(Kind.RANGE, new ClientNode[0], partitions, null, null, null, from, to, null, 0, null);
    }

    static ClientNode textFile(String path, long fileLength, int partitions) {
        return new ClientNode(Kind.TEXT_FILE, new ClientNode[0], partitions, null, null, null, 0, 0, path,
                fileLength, null);
    }

    static ClientNode narrow(Kind kind, ClientNode input, Object function, Ref<?> pinned) {
        return new ClientNode(kind, new ClientNode[] {input}, input.partitions, function, pinned, null, 0, 0, null,
                0, null);
    }

    static ClientNode union(ClientNode left, ClientNode right) {
        return new ClientNode(Kind.UNION, new ClientNode[] {left, right}, left.partitions + right.partitions, null,
                null, null, 0, 0, null, 0, null);
    }

    static ClientNode wide(Kind kind, ClientNode[] inputs, Object function, int partitions) {
        return new ClientNode(kind, inputs, partitions, function, null, null, 0, 0, null, 0, null);
    }

    /** Partitions {@code [from, to)} of {@code input}: only ever the root of a job (take, lookup). */
    static ClientNode slice(ClientNode input, int from, int to) {
        return new ClientNode(Kind.PARTITIONS, new ClientNode[] {input}, to - from, null, null, null, from, to, null,
                0, null);
    }

    static ClientNode persistMarker(ClientNode input) {
        return new ClientNode(null, new ClientNode[] {input}, input.partitions, null, null, null, 0, 0, null, 0,
                new PersistHandle());
    }

    boolean isPersistMarker() {
        return persist != null;
    }

    /** The function serialized once; a NotSerializableException names the operator. */
    byte[] functionBytes() {
        byte[] b = functionBytes;
        if (b == null && function != null) {
            b = JavaSerialization.serialize(function, "the function of " + kind.displayName());
            functionBytes = b;
        }
        return b;
    }
}
