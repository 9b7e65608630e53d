package io.quiver;

import java.util.Iterator;
import java.util.List;

/** An immutable, lazy, partitioned collection; transformations build a DAG and actions run it. */
public interface Dataset<T> {
    <R> Dataset<R> map(Fn1<T, R> fn);

    <B, R> Dataset<R> map(Ref<B> pinned, Fn2<T, B, R> fn);

    <R> Dataset<R> flatMap(Fn1<T, ? extends Iterable<R>> fn);

    Dataset<T> filter(Pred<T> pred);

    <B> Dataset<T> filter(Ref<B> pinned, Fn2<T, B, Boolean> pred);

    <R> Dataset<R> mapPartitions(Fn1<Iterator<T>, Iterator<R>> fn);

    <K> PairDataset<K, T> keyBy(Fn1<T, K> fn);

    <K, V> PairDataset<K, V> mapToPair(Fn1<T, KV<K, V>> fn);

    Dataset<T> union(Dataset<T> other);

    Dataset<T> repartition(int partitions);

    Dataset<T> persist();

    Dataset<T> unpersist();

    List<T> collect();

    long count();

    T reduce(Fn2<T, T, T> fn);

    Ref<List<T>> collectAsync();

    /** The physical plan as text: stages, fused operators, partitions, parents, pinned inputs. */
    String explain();

    int partitions();
}
