package io.quiver;

import java.util.Iterator;
import java.util.List;

/**
 * An immutable, lazy, partitioned collection; transformations build a DAG and actions run it as a
 * job on the cluster. Every function passed here is serialized and runs on executors.
 *
 * <pre>{@code
 * long n = q.range(0, 1_000_000, 8).filter(i -> i % 3 == 0).count();
 * }</pre>
 *
 * @param <T> the element type; elements may be null
 */
public interface Dataset<T> {
    /**
     * One output element per input element.
     *
     * @param fn the function applied to each element
     * @param <R> the output element type
     * @return the transformed dataset (nothing runs yet)
     */
    <R> Dataset<R> map(Fn1<T, R> fn);

    /**
     * Like {@link #map(Fn1)}, with a pinned input: every task also gets {@code pinned}'s value,
     * resolved on the executor, and runs where that value already lives.
     *
     * @param pinned a scattered (usually broadcast) value
     * @param fn the function of an element and the pinned value
     * @param <B> the pinned value's type
     * @param <R> the output element type
     * @return the transformed dataset
     */
    <B, R> Dataset<R> map(Ref<B> pinned, Fn2<T, B, R> fn);

    /**
     * Zero or more output elements per input element.
     *
     * @param fn the function returning each element's outputs
     * @param <R> the output element type
     * @return the transformed dataset
     */
    <R> Dataset<R> flatMap(Fn1<T, ? extends Iterable<R>> fn);

    /**
     * The elements for which {@code pred} is true.
     *
     * @param pred the predicate
     * @return the filtered dataset
     */
    Dataset<T> filter(Pred<T> pred);

    /**
     * The elements for which {@code pred} is true, with a pinned input as in {@link #map(Ref, Fn2)}.
     *
     * @param pinned a scattered (usually broadcast) value
     * @param pred the predicate of an element and the pinned value
     * @param <B> the pinned value's type
     * @return the filtered dataset
     */
    <B> Dataset<T> filter(Ref<B> pinned, Fn2<T, B, Boolean> pred);

    /**
     * A function over each whole partition.
     *
     * @param fn the function from a partition's elements to its outputs
     * @param <R> the output element type
     * @return the transformed dataset
     */
    <R> Dataset<R> mapPartitions(Fn1<Iterator<T>, Iterator<R>> fn);

    /**
     * Pairs each element with a key.
     *
     * @param fn the key of an element
     * @param <K> the key type
     * @return a dataset of {@code KV.of(fn(e), e)}
     */
    <K> PairDataset<K, T> keyBy(Fn1<T, K> fn);

    /**
     * Turns each element into a key-value pair.
     *
     * @param fn the pair of an element
     * @param <K> the key type
     * @param <V> the value type
     * @return a pair dataset
     */
    <K, V> PairDataset<K, V> mapToPair(Fn1<T, KV<K, V>> fn);

    /**
     * The elements of both datasets (no shuffle: the partitions of both, this one's first).
     *
     * @param other another dataset of the same connection
     * @return the union
     */
    Dataset<T> union(Dataset<T> other);

    /**
     * The same elements in {@code partitions} partitions (a shuffle). The rows are dealt round
     * robin, each input partition starting at its own pseudo-random output partition (seeded by
     * its index, as Spark does, so a recompute deals the same way): many small input partitions
     * spread evenly instead of all filling the first output partitions. The order of elements
     * across partitions is not kept.
     *
     * @param partitions the new partition count, at least 1
     * @return the repartitioned dataset
     */
    Dataset<T> repartition(int partitions);

    /**
     * The same elements in {@code partitions} partitions, merged without a shuffle: output
     * partition {@code j} is a contiguous group of this dataset's partitions (partitions {@code
     * ceil(j*n/partitions)} up to the next group's first, for {@code n} partitions here), their
     * elements in partition order, so the order of {@link #collect()} is kept. Nothing is hashed or
     * exchanged all-to-all: each output task reads only its group, on the executor holding most of
     * it where it can. With {@code partitions} at least the current count this dataset is returned
     * unchanged (coalesce never adds partitions; use {@link #repartition(int)} for that). Rows are
     * spread as the groups are: merging uneven partitions stays uneven.
     *
     * @param partitions the partition count, at least 1
     * @return the coalesced dataset (this one when it has at most {@code partitions} partitions)
     */
    Dataset<T> coalesce(int partitions);

    /**
     * Keeps the partitions on the executors after the first action that computes them; later jobs
     * read them as pinned inputs, where they live.
     *
     * @return this dataset, marked persisted
     */
    Dataset<T> persist();

    /**
     * Releases persisted partitions.
     *
     * @return this dataset, no longer persisted
     */
    Dataset<T> unpersist();

    /**
     * Runs the job and returns every element, in partition order (order is unspecified after a
     * shuffle).
     *
     * @return the elements
     */
    List<T> collect();

    /**
     * Runs the job and counts the elements.
     *
     * @return the number of elements
     */
    long count();

    /**
     * Runs the job and folds the elements with {@code fn}.
     *
     * @param fn an associative function
     * @return the reduced value
     * @throws QuiverException "reduce of empty dataset" when there is no element
     */
    T reduce(Fn2<T, T, T> fn);

    /**
     * Starts the job and returns at once.
     *
     * @return a ref to the collected elements
     */
    Ref<List<T>> collectAsync();

    /**
     * The physical plan as text: stages, fused operators, partitions, parents, pinned inputs.
     *
     * @return the plan, one block per stage
     */
    String explain();

    /**
     * How many partitions this dataset has.
     *
     * @return the partition count
     */
    int partitions();
}
