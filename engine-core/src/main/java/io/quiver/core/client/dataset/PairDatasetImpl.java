package io.quiver.core.client.dataset;

import io.quiver.Dataset;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.Pred;
import io.quiver.Ref;
import io.quiver.core.codec.JavaSerialization;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.RangePartitioner;
import java.util.ArrayList;
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

    // ---- part 7: more of Spark's PairRDDFunctions

    /** Sample size for sortByKey's bounds: 20 keys per output partition, at most a million (as Spark). */
    static final int SORT_SAMPLE_PER_PARTITION = 20;

    @Override
    public <U> PairDataset<K, U> aggregateByKey(U zero, Fn2<U, V, U> seq, Fn2<U, U, U> comb) {
        Objects.requireNonNull(seq, "aggregateByKey: the seq function must not be null");
        Objects.requireNonNull(comb, "aggregateByKey: the comb function must not be null");
        byte[] zeroBytes = JavaSerialization.serialize(zero, "the zero value of aggregateByKey");
        return combine("aggregateByKey", Ops.fromZero(zeroBytes, seq), seq, comb);
    }

    @Override
    public PairDataset<K, V> foldByKey(V zero, Fn2<V, V, V> fn) {
        Objects.requireNonNull(fn, "foldByKey: the function must not be null");
        byte[] zeroBytes = JavaSerialization.serialize(zero, "the zero value of foldByKey");
        return combine("foldByKey", Ops.fromZero(zeroBytes, fn), fn, fn);
    }

    @Override
    public <C> PairDataset<K, C> combineByKey(Fn1<V, C> create, Fn2<C, V, C> mergeValue,
            Fn2<C, C, C> mergeCombiners) {
        Objects.requireNonNull(create, "combineByKey: createCombiner must not be null");
        Objects.requireNonNull(mergeValue, "combineByKey: mergeValue must not be null");
        Objects.requireNonNull(mergeCombiners, "combineByKey: mergeCombiners must not be null");
        return combine("combineByKey", create, mergeValue, mergeCombiners);
    }

    /**
     * Combines each partition's values per key, then merges the combiners with a reduceByKey
     * shuffle, unless this dataset is already hash-partitioned into its partition count.
     */
    private <C> PairDataset<K, C> combine(String op, Fn1<V, C> create, Fn2<C, V, C> mergeValue,
            Fn2<C, C, C> mergeCombiners) {
        PairDatasetImpl<K, C> local = new PairDatasetImpl<>(service, narrow(Kind.MAP_PARTITIONS,
                Ops.combineLocally(create, mergeValue, op)));
        if (node.hashPartitions == partitions()) {
            return local; // every key already lives in one partition: its combiner is final (as in Spark)
        }
        return local.reduceByKey(mergeCombiners, partitions());
    }

    @Override
    public PairDataset<K, List<V>> groupByKey(int partitions) {
        checkPartitions("groupByKey", partitions);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.GROUP_BY_KEY, new ClientNode[] {node}, null,
                partitions));
    }

    @Override
    public <W> PairDataset<K, KV<V, W>> join(PairDataset<K, W> other, int partitions) {
        DatasetImpl<?> o = sameQuiver("join", other);
        checkPartitions("join", partitions);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.JOIN, new ClientNode[] {node, o.node}, null,
                partitions));
    }

    @Override
    public PairDataset<K, V> sortByKey(boolean ascending) {
        return sortByKey(ascending, "sortByKey");
    }

    /**
     * Samples the keys (a small job now, unless there is one output partition), chooses range
     * bounds, and range-partitions; each partition is sorted on the reduce side.
     */
    @SuppressWarnings("unchecked")
    PairDatasetImpl<K, V> sortByKey(boolean ascending, String op) {
        int partitions = partitions();
        RangePartitioner ranges = new RangePartitioner(new Object[0], ascending);
        if (partitions > 1) {
            int sampleSize = (int) Math.min((long) SORT_SAMPLE_PER_PARTITION * partitions, 1_000_000);
            int perPartition = (int) Math.ceil(3.0 * sampleSize / partitions);
            List<Object> sketches = concat(runNode(ClientNode.narrow(Kind.MAP_PARTITIONS_WITH_INDEX, node,
                    Ops.sketch(perPartition, 0x5eed5eedL ^ partitions, op), null), Action.collect()));
            List<KV<Long, List<Object>>> typed = new ArrayList<>(sketches.size());
            sketches.forEach(x -> typed.add((KV<Long, List<Object>>) x));
            ranges = Ops.bounds(typed, partitions, ascending, op);
        }
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.SORT_BY_KEY, new ClientNode[] {node}, ranges,
                partitions));
    }

    @Override
    public <W> PairDataset<K, KV<V, W>> leftOuterJoin(PairDataset<K, W> other) {
        return joinVia("leftOuterJoin", other, true, false);
    }

    @Override
    public <W> PairDataset<K, KV<V, W>> rightOuterJoin(PairDataset<K, W> other) {
        return joinVia("rightOuterJoin", other, false, true);
    }

    @Override
    public <W> PairDataset<K, KV<V, W>> fullOuterJoin(PairDataset<K, W> other) {
        return joinVia("fullOuterJoin", other, true, true);
    }

    private <W> PairDataset<K, KV<V, W>> joinVia(String op, PairDataset<K, W> other, boolean left, boolean right) {
        PairDatasetImpl<K, KV<List<V>, List<W>>> groups = cogroup(op, other, defaultPartitions(op, other));
        return new PairDatasetImpl<>(service, groups.narrow(Kind.FLAT_MAP, Ops.<K, V, W>outerJoin(left, right)));
    }

    @Override
    public <W> PairDataset<K, KV<List<V>, List<W>>> cogroup(PairDataset<K, W> other) {
        return cogroup("cogroup", other, defaultPartitions("cogroup", other));
    }

    /** Like {@link #cogroup(PairDataset)} into {@code partitions} partitions. */
    <W> PairDataset<K, KV<List<V>, List<W>>> cogroup(PairDataset<K, W> other, int partitions) {
        return cogroup("cogroup", other, partitions);
    }

    private <W> PairDatasetImpl<K, KV<List<V>, List<W>>> cogroup(String op, PairDataset<K, W> other, int partitions) {
        DatasetImpl<?> o = sameQuiver(op, other);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.COGROUP, new ClientNode[] {node, o.node}, null,
                partitions));
    }

    /**
     * Spark's default partitioner, in spirit: the partition count of a side already hash-partitioned
     * (that side then moves no data), else the larger side's.
     */
    private int defaultPartitions(String op, Dataset<?> other) {
        DatasetImpl<?> o = sameQuiver(op, other);
        if (node.hashPartitions > 0) {
            return node.hashPartitions;
        }
        if (o.node.hashPartitions > 0) {
            return o.node.hashPartitions;
        }
        return Math.max(partitions(), o.partitions());
    }

    @Override
    public <W> PairDataset<K, V> subtractByKey(PairDataset<K, W> other) {
        PairDatasetImpl<K, KV<List<V>, List<W>>> groups = cogroup("subtractByKey", other,
                defaultPartitions("subtractByKey", other));
        return new PairDatasetImpl<>(service, groups.narrow(Kind.FLAT_MAP, Ops.<K, V, W>subtractByKey()));
    }

    @Override
    public Dataset<K> keys() {
        return map(KV::key);
    }

    @Override
    public Dataset<V> values() {
        return map(KV::value);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Map<K, Long> countByKey() {
        PairDatasetImpl<K, Long> ones = (PairDatasetImpl<K, Long>) mapValues(v -> 1L);
        Map<K, Long> out = new HashMap<>();
        for (Object o : concat(((PairDatasetImpl<K, Long>) ones.reduceByKey(Long::sum)).run(Action.collect()))) {
            KV<K, Long> kv = (KV<K, Long>) o;
            out.put(kv.key(), kv.value());
        }
        return out;
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<V> lookup(K key) {
        ClientNode matching = ClientNode.narrow(Kind.FILTER, node, (Pred<KV<K, V>>) kv -> Objects.equals(kv.key(),
                key), null);
        ClientNode values = ClientNode.narrow(Kind.MAP, matching, (Fn1<KV<K, V>, V>) KV::value, null);
        int n = node.hashPartitions;
        JobResult r = key != null && n > 0 && n == partitions()
                ? runNode(ClientNode.slice(values, Math.floorMod(key.hashCode(), n), Math.floorMod(key.hashCode(), n)
                        + 1), Action.collect())
                : runNode(values, Action.collect());
        return (List<V>) (List<?>) concat(r);
    }

    @Override
    public PairDataset<K, V> partitionBy(int partitions) {
        checkPartitions("partitionBy", partitions);
        return new PairDatasetImpl<>(service, ClientNode.wide(Kind.PARTITION_BY, new ClientNode[] {node}, null,
                partitions));
    }
}
