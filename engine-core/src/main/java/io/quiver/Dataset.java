package io.quiver;

import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

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

    // ---- part 7: more of Spark's RDD API

    /**
     * The distinct elements (a shuffle; nulls allowed, one null kept). Keeps the partition count;
     * order is unspecified.
     *
     * @return each distinct element once
     */
    Dataset<T> distinct();

    /**
     * The elements sorted by {@code key}, range-partitioned like Spark's {@code RangePartitioner}:
     * partition i holds keys that sort before those of partition i + 1, so {@link #collect()}
     * returns the global order. Keeps the partition count (trailing partitions may be empty when
     * there are few distinct keys). Runs a small sampling job at once to choose the ranges.
     *
     * @param key the sort key of an element; never null, all of one mutually comparable type
     * @param ascending true for smallest first
     * @param <K> the key type
     * @return the sorted dataset
     */
    <K extends Comparable<? super K>> Dataset<T> sortBy(Fn1<T, K> key, boolean ascending);

    /**
     * Pairs each element with its index: partition order, then order within the partition, from 0.
     * Runs a counting job at once when there is more than one partition (as Spark does).
     *
     * @return pairs of element and index
     */
    PairDataset<T, Long> zipWithIndex();

    /**
     * A function over each whole partition that also receives the partition's index in this
     * dataset (0-based).
     *
     * @param fn the function of the index and the partition's elements
     * @param <R> the output element type
     * @return the transformed dataset
     */
    <R> Dataset<R> mapPartitionsWithIndex(Fn2<Integer, Iterator<T>, Iterator<R>> fn);

    /**
     * A random sample: without replacement each element is kept with probability {@code fraction};
     * with replacement each element appears a Poisson({@code fraction}) number of times. The same
     * seed and partitioning give the same sample.
     *
     * @param withReplacement whether an element may be picked more than once
     * @param fraction the expected share ({@code [0, 1]} without replacement, {@code >= 0} with)
     * @param seed the random seed
     * @return the sample, in this dataset's order
     */
    Dataset<T> sample(boolean withReplacement, double fraction, long seed);

    /**
     * The elements of this dataset that do not occur in {@code other}; duplicates of this dataset
     * stay (as in Spark). A shuffle; order is unspecified.
     *
     * @param other the elements to remove
     * @return this dataset minus {@code other}
     */
    Dataset<T> subtract(Dataset<T> other);

    /**
     * The elements present in both datasets, each once. A shuffle; order is unspecified.
     *
     * @param other the other dataset
     * @return the common elements
     */
    Dataset<T> intersection(Dataset<T> other);

    /**
     * Every pair of an element of this dataset and one of {@code other}, in {@code partitions() *
     * other.partitions()} partitions: partition {@code i * n + j} pairs partition i of this with
     * partition j of {@code other}, in order.
     *
     * @param other the other dataset
     * @param <U> its element type
     * @return the cartesian product
     */
    <U> PairDataset<T, U> cartesian(Dataset<U> other);

    /**
     * The first {@code n} elements in {@link #collect()} order. Runs only as many partitions as it
     * needs: one first, then up to four times as many as it has scanned, until it has {@code n}.
     *
     * @param n how many elements, at least 0
     * @return at most {@code n} elements
     */
    List<T> take(int n);

    /**
     * The first element (in {@link #collect()} order), running as few partitions as it can.
     *
     * @return the first element (which may be null)
     * @throws QuiverException "first of empty dataset" when there is no element
     */
    T first();

    /**
     * The {@code n} largest elements under {@code order}, largest first.
     *
     * @param n how many, at least 0
     * @param order a {@link java.io.Serializable} comparator (it runs on executors)
     * @return at most {@code n} elements
     */
    List<T> top(int n, Comparator<? super T> order);

    /**
     * The {@code n} smallest elements under {@code order}, smallest first.
     *
     * @param n how many, at least 0
     * @param order a {@link java.io.Serializable} comparator (it runs on executors)
     * @return at most {@code n} elements
     */
    List<T> takeOrdered(int n, Comparator<? super T> order);

    /**
     * Folds each partition from a fresh copy of {@code zero}, then the partition results, in
     * partition order, from another copy (as Spark does: the zero is used once per partition and
     * once more). An empty dataset gives {@code zero}.
     *
     * @param zero the neutral element of {@code fn}; copied by serialization, so it may be mutated
     * @param fn an associative function
     * @return the folded value
     */
    T fold(T zero, Fn2<T, T, T> fn);

    /**
     * Aggregates each partition with {@code seq} from a fresh copy of {@code zero}, then merges the
     * partition results with {@code comb}, in partition order, from another copy.
     *
     * @param zero the neutral value; copied by serialization, so it may be mutated
     * @param seq adds an element to a partial result
     * @param comb merges two partial results
     * @param <U> the result type
     * @return the aggregate ({@code zero} for an empty dataset)
     */
    <U> U aggregate(U zero, Fn2<U, T, U> seq, Fn2<U, U, U> comb);

    /**
     * Whether the dataset has no element; runs as few partitions as it can, like {@link #take}.
     *
     * @return true if empty
     */
    boolean isEmpty();

    /**
     * How often each distinct element occurs (null counts as an element).
     *
     * @return element to count
     */
    Map<T, Long> countByValue();

    /**
     * Writes the dataset as text: one file {@code part-NNNNN} per partition (five digits, the
     * partition index) in {@code directory}, one {@code String.valueOf(element)} per line, UTF-8.
     * The directory must be writable by every executor at that path, and must not exist yet or be
     * empty.
     *
     * @param directory the output directory
     */
    void saveAsTextFile(String directory);
}
