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

    // ---- part 7: more of Spark's PairRDDFunctions

    /**
     * Aggregates the values of each key: {@code seq} folds a partition's values into a fresh copy
     * of {@code zero}, {@code comb} merges the partial results (map-side combine). Keeps the
     * partition count.
     *
     * @param zero the neutral value; copied by serialization for every key, so it may be mutated
     * @param seq adds a value to a partial result
     * @param comb merges two partial results
     * @param <U> the result type
     * @return one pair per key
     */
    <U> PairDataset<K, U> aggregateByKey(U zero, Fn2<U, V, U> seq, Fn2<U, U, U> comb);

    /**
     * Folds the values of each key from a copy of {@code zero} (per key and partition).
     *
     * @param zero the neutral value of {@code fn}
     * @param fn an associative function
     * @return one pair per key
     */
    PairDataset<K, V> foldByKey(V zero, Fn2<V, V, V> fn);

    /**
     * The general per-key aggregation: {@code create} starts a combiner from a key's first value in
     * a partition, {@code mergeValue} adds the next ones, {@code mergeCombiners} merges the
     * partitions' combiners. Keeps the partition count.
     *
     * @param create a combiner of one value
     * @param mergeValue adds a value to a combiner
     * @param mergeCombiners merges two combiners
     * @param <C> the combiner type
     * @return one pair per key
     */
    <C> PairDataset<K, C> combineByKey(Fn1<V, C> create, Fn2<C, V, C> mergeValue, Fn2<C, C, C> mergeCombiners);

    /**
     * Like {@link #groupByKey()}, into {@code partitions} partitions.
     *
     * @param partitions the output partition count, at least 1
     * @return one pair per key
     */
    PairDataset<K, List<V>> groupByKey(int partitions);

    /**
     * Like {@link #join(PairDataset)}, into {@code partitions} partitions.
     *
     * @param other the dataset to join with
     * @param partitions the output partition count, at least 1
     * @param <W> the other dataset's value type
     * @return pairs of the key and both values
     */
    <W> PairDataset<K, KV<V, W>> join(PairDataset<K, W> other, int partitions);

    /**
     * The pairs sorted by key (see {@link #sortBy(Fn1, boolean)}): {@link #collect()} returns them
     * in global key order. Keys must be non-null and mutually {@link Comparable}. Keeps the
     * partition count; runs a small sampling job at once.
     *
     * @param ascending true for smallest key first
     * @return the sorted pairs
     */
    PairDataset<K, V> sortByKey(boolean ascending);

    /**
     * Every pair of this dataset with each matching value of {@code other}, or with null when the
     * key is missing there.
     *
     * @param other the dataset to join with
     * @param <W> its value type
     * @return pairs {@code KV(key, KV(v, w or null))}
     */
    <W> PairDataset<K, KV<V, W>> leftOuterJoin(PairDataset<K, W> other);

    /**
     * Every pair of {@code other} with each matching value of this dataset, or with null when the key
     * is missing here.
     *
     * @param other the dataset to join with
     * @param <W> its value type
     * @return pairs {@code KV(key, KV(v or null, w))}
     */
    <W> PairDataset<K, KV<V, W>> rightOuterJoin(PairDataset<K, W> other);

    /**
     * The left and right outer joins together: every key of either side, null for the side that
     * lacks it.
     *
     * @param other the dataset to join with
     * @param <W> its value type
     * @return pairs {@code KV(key, KV(v or null, w or null))}
     */
    <W> PairDataset<K, KV<V, W>> fullOuterJoin(PairDataset<K, W> other);

    /**
     * For each key of either dataset, its values here and its values there (a list is empty where
     * the key is missing, so a null value is told apart from a missing one). Lists keep input order.
     *
     * @param other the other dataset
     * @param <W> its value type
     * @return one pair per key
     */
    <W> PairDataset<K, KV<List<V>, List<W>>> cogroup(PairDataset<K, W> other);

    /**
     * The pairs whose key does not occur in {@code other}.
     *
     * @param other the keys to remove
     * @param <W> its value type
     * @return the remaining pairs
     */
    <W> PairDataset<K, V> subtractByKey(PairDataset<K, W> other);

    /**
     * The keys, one per pair (duplicates stay).
     *
     * @return the keys
     */
    Dataset<K> keys();

    /**
     * The values, one per pair.
     *
     * @return the values
     */
    Dataset<V> values();

    /**
     * How many pairs each key has.
     *
     * @return key to count
     */
    Map<K, Long> countByKey();

    /**
     * The values of {@code key}. On a dataset known to be hash-partitioned (after {@link
     * #partitionBy}, {@link #reduceByKey}, ...) only the key's partition runs.
     *
     * @param key the key
     * @return its values (empty if none)
     */
    List<V> lookup(K key);

    /**
     * Hash-partitions the pairs by key into {@code partitions} partitions and remembers it: a later
     * {@link #reduceByKey}, {@link #groupByKey} or {@link #join} into as many partitions moves no
     * data for this dataset (also once persisted).
     *
     * @param partitions the partition count, at least 1
     * @return the partitioned pairs
     */
    PairDataset<K, V> partitionBy(int partitions);
}
