package io.quiver.core.client.dataset;

import io.quiver.Dataset;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.Pred;
import io.quiver.Ref;
import io.quiver.core.plan.LogicalNode.Kind;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The client's {@link PairDataset}; see {@link DatasetImpl}. */
public class PairDatasetImpl<K, V> extends DatasetImpl<KV<K, V>> implements PairDataset<K, V> {

    PairDatasetImpl(JobService service, ClientNode node) {
        super(service, node);
    }

    /** Keeps the parent's partition count. */
    @Override
    public PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn) {
        return reduceByKey(fn, partitions());
    }

    @Override
    public PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn, int partitions) {
        Objects.requireNonNull(fn, "reduceByKey: the function must not be null");
        checkPartitions("reduceByKey", partitions);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.REDUCE_BY_KEY, new ClientNode[] {node}, fn,
                partitions));
    }

    /** Keeps the parent's partition count; each group's values are an ArrayList. */
    @Override
    public PairDataset<K, List<V>> groupByKey() {
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.GROUP_BY_KEY, new ClientNode[] {node}, null,
                partitions()));
    }

    /** An inner join into as many partitions as the larger side has. */
    @Override
    public <W> PairDataset<K, KV<V, W>> join(PairDataset<K, W> other) {
        DatasetImpl<?> o = sameQuiver("join", other);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.JOIN, new ClientNode[] {node, o.node}, null,
                Math.max(partitions(), o.partitions())));
    }

    @Override
    public <W> PairDataset<K, W> mapValues(Fn1<V, W> fn) {
        return new PairDatasetImpl<>(service, narrow(Kind.MAP_VALUES, fn));
    }

    /** The last value wins for a duplicate key. */
    @Override
    @SuppressWarnings("unchecked")
    public Map<K, V> collectAsMap() {
        List<Object> all = concat(run(io.quiver.core.plan.Action.collect()));
        Map<K, V> map = new HashMap<>(Math.max(16, all.size() * 4 / 3 + 1));
        for (Object o : all) {
            KV<K, V> kv = (KV<K, V>) o;
            map.put(kv.key(), kv.value());
        }
        return map;
    }

    @Override
    public PairDataset<K, V> filter(Pred<KV<K, V>> pred) {
        return new PairDatasetImpl<>(service, narrow(Kind.FILTER, pred));
    }

    @Override
    public <B> PairDataset<K, V> filter(Ref<B> pinned, Fn2<KV<K, V>, B, Boolean> pred) {
        return new PairDatasetImpl<>(service, pinnedOp(Kind.FILTER_PINNED, pinned, pred));
    }

    @Override
    public PairDataset<K, V> union(Dataset<KV<K, V>> other) {
        return new PairDatasetImpl<>(service, unionNode(other));
    }

    @Override
    public PairDataset<K, V> repartition(int partitions) {
        return new PairDatasetImpl<>(service, repartitionNode(partitions));
    }

    @Override
    public PairDataset<K, V> coalesce(int partitions) {
        ClientNode merged = coalesceNode(partitions);
        return merged == node ? this : new PairDatasetImpl<>(service, merged);
    }

    @Override
    public PairDataset<K, V> persist() {
        return new PairDatasetImpl<>(service, persistNode());
    }

    @Override
    public PairDataset<K, V> unpersist() {
        releasePersisted();
        return this;
    }
}
