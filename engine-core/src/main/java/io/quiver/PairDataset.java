package io.quiver;

import java.util.List;
import java.util.Map;

/**
 * A dataset of key-value pairs, with the shuffle operators. A null key in a shuffle fails the task
 * with a message naming the operator.
 *
 * @param <K> the key type
 * @param <V> the value type
 */
public interface PairDataset<K, V> extends Dataset<KV<K, V>> {
    /**
     * Merges the values of each key with {@code fn}, combining on the map side first; keeps this
     * dataset's partition count.
     *
     * @param fn an associative function of two values
     * @return one pair per key
     */
    PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn);

    /**
     * Like {@link #reduceByKey(Fn2)}, into {@code partitions} partitions.
     *
     * @param fn an associative function of two values
     * @param partitions the output partition count, at least 1
     * @return one pair per key
     */
    PairDataset<K, V> reduceByKey(Fn2<V, V, V> fn, int partitions);

    /**
     * The values of each key in one list; keeps this dataset's partition count.
     *
     * @return one pair per key
     */
    PairDataset<K, List<V>> groupByKey();

    /**
     * The inner join on the key: one pair per matching pair of values.
     *
     * @param other the dataset to join with
     * @param <W> the other dataset's value type
     * @return pairs of the key and both values
     */
    <W> PairDataset<K, KV<V, W>> join(PairDataset<K, W> other);

    /**
     * Transforms the values and keeps the keys.
     *
     * @param fn the function of a value
     * @param <W> the new value type
     * @return the transformed dataset
     */
    <W> PairDataset<K, W> mapValues(Fn1<V, W> fn);

    /**
     * Runs the job and returns the pairs as a map; for a duplicate key the last value wins.
     *
     * @return the pairs as a map
     */
    Map<K, V> collectAsMap();

    /**
     * {@inheritDoc}
     *
     * @param pred the predicate of a pair
     * @return the filtered pairs
     */
    @Override
    PairDataset<K, V> filter(Pred<KV<K, V>> pred);

    /**
     * {@inheritDoc}
     *
     * @param other another pair dataset of the same connection
     * @return the union
     */
    @Override
    PairDataset<K, V> union(Dataset<KV<K, V>> other);

    /**
     * {@inheritDoc}
     *
     * @param partitions the new partition count, at least 1
     * @return the repartitioned pairs
     */
    @Override
    PairDataset<K, V> repartition(int partitions);

    /**
     * {@link Dataset#coalesce(int)} for pairs: contiguous groups of partitions merged without a
     * shuffle, still a pair dataset.
     *
     * @param partitions the partition count, at least 1
     * @return the coalesced pairs (this dataset when it has at most {@code partitions} partitions)
     */
    @Override
    PairDataset<K, V> coalesce(int partitions);

    /**
     * {@inheritDoc}
     *
     * @return this dataset, marked persisted
     */
    @Override
    PairDataset<K, V> persist();
}
