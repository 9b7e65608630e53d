package io.quiver;

import java.util.List;
import java.util.Map;

/** A dataset of key-value pairs, with the shuffle operators. */
public interface PairDataset<K, V> extends Dataset<KV<K, V>> {
    PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn);

    PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn, int partitions);

    PairDataset<K, List<V>> groupByKey();

    <W> PairDataset<K, KV<V, W>> join(PairDataset<K, W> other);

    <W> PairDataset<K, W> mapValues(Fn1<V, W> fn);

    Map<K, V> collectAsMap();

    @Override
    PairDataset<K, V> filter(Pred<KV<K, V>> pred);

    @Override
    PairDataset<K, V> union(Dataset<KV<K, V>> other);

    @Override
    PairDataset<K, V> repartition(int partitions);

    @Override
    PairDataset<K, V> persist();
}
