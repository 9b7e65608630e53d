package io.quiver;

import io.quiver.core.client.Connector;
import java.util.List;

/**
 * A connection to a Quiver cluster: scatter data once, submit many functions over it, gather the
 * results; or build a {@link Dataset} pipeline. Thread-safe.
 *
 * <pre>{@code
 * try (Quiver q = Quiver.connect("local[2]")) {
 *     Ref<double[]> data = q.scatter(new double[] {1, 2, 3}, Scatter.broadcast());
 *     List<Ref<Double>> refs = q.map((Integer k, double[] d) -> d[k] * 2, List.of(0, 1, 2), data);
 *     List<Double> doubled = q.gather(refs);
 * }
 * }</pre>
 *
 * <p>Calls wait through a leader change; they fail with {@link ClusterUnavailableException} only
 * when no leader is reachable for longer than {@link ConnectOptions#failoverTimeout()}.
 */
public interface Quiver extends AutoCloseable {

    /**
     * Connects to the cluster this program was started against: the URL in the system property
     * {@code quiver.url}, else in the environment variable {@code QUIVER_URL} ({@code quiver submit}
     * sets the property; set the variable to run a {@code main} from an IDE against a cluster), with
     * {@link ConnectOptions#defaults()}.
     *
     * @return a connection to that cluster
     * @throws IllegalArgumentException naming both places if neither holds a URL
     */
    static Quiver connect() {
        return Connector.connect(Connector.urlFromEnvironment(System::getenv), ConnectOptions.defaults());
    }

    /**
     * Connects to a cluster. {@code zk://host:port[,host:port]/root} joins a real cluster through
     * its ZooKeeper ensemble; {@code local[N]} starts an embedded cluster of N executors (needs
     * module {@code launcher} on the class path) that closing the returned Quiver stops.
     *
     * @param url {@code zk://host:port[,host:port]/root} or {@code local[N]}
     * @return a connection
     * @throws ClusterUnavailableException if no leader and executor answer within the connect timeout
     */
    static Quiver connect(String url) {
        return Connector.connect(url, ConnectOptions.defaults());
    }

    /**
     * Connects as {@link #connect(String)} does, with these options. For {@code local[N]} only the
     * secret applies: the embedded cluster and this connection use it.
     *
     * @param url {@code zk://host:port[,host:port]/root} or {@code local[N]}
     * @param options the secret and timeouts
     * @return a connection
     */
    static Quiver connect(String url, ConnectOptions options) {
        return Connector.connect(url, options);
    }

    /**
     * Puts one copy of {@code value} on one executor, chosen by free memory and load; returns once it
     * is stored and verified.
     *
     * @param value the value; serialized on this thread
     * @param <T> its type
     * @return a ref to the stored value
     * @throws InsufficientMemoryException if it fits on no executor, before any byte is sent
     */
    <T> Ref<T> scatter(T value);

    /**
     * Puts copies of {@code value} where {@code options} say; returns once every target has stored
     * and verified its copy, so {@link Ref#locations()} then lists them all.
     *
     * @param value the value; serialized on this thread
     * @param options {@link Scatter#broadcast()}, {@link Scatter#replicas(int)}, {@link Scatter#on(String...)}
     * @param <T> its type
     * @return a ref to the stored value
     * @throws InsufficientMemoryException if it does not fit on a target, before any byte is sent
     */
    <T> Ref<T> scatter(T value, Scatter options);

    /**
     * Runs a function on the cluster.
     *
     * @param fn the function; serialized on this thread
     * @param <R> its result type
     * @return a ref to its result
     * @throws NotSerializableException if {@code fn} cannot be serialized
     */
    <R> Ref<R> submit(Fn0<R> fn);

    /**
     * Runs a function of a value on the cluster: it receives the value of {@code a}, resolved on the
     * executor, and runs where that value lives if it can.
     *
     * @param fn the function
     * @param a its input
     * @param <A> the input's type
     * @param <R> the result type
     * @return a ref to the result
     */
    <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a);

    /**
     * Runs a function of two values on the cluster.
     *
     * @param fn the function
     * @param a its first input
     * @param b its second input
     * @param <A> the first input's type
     * @param <B> the second input's type
     * @param <R> the result type
     * @return a ref to the result
     */
    <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b);

    /**
     * Runs a function of three values on the cluster.
     *
     * @param fn the function
     * @param a its first input
     * @param b its second input
     * @param c its third input
     * @param <A> the first input's type
     * @param <B> the second input's type
     * @param <C> the third input's type
     * @param <R> the result type
     * @return a ref to the result
     */
    <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c);

    /**
     * One task over many refs: the function receives their values, in order, as one list
     * (Dask's {@code client.submit(f, futures)}), e.g. {@code submit(parts -> sum(parts), refs)}.
     *
     * @param fn the function of the list of values
     * @param inputs the refs, none null (may be empty)
     * @param <A> the values' type
     * @param <R> the result type
     * @return a ref to the result
     */
    <A, R> Ref<R> submit(Fn1<List<A>, R> fn, List<? extends Ref<? extends A>> inputs);

    /**
     * A view of this connection whose {@code submit} and {@code map} calls carry {@code options}
     * (retries, executors, priority); {@code with} on a view replaces its options. Everything else
     * is this connection's: closing the view closes nothing.
     *
     * @param options the options, e.g. {@code Submit.retries(2)}
     * @return the view
     */
    Quiver with(Submit options);

    /**
     * Adds copies of a finished value until it is on {@code copies} executors (at most every live
     * one); {@code Integer.MAX_VALUE} keeps one on every executor, joiners included, like a
     * broadcast. Returns once the copies are stored.
     *
     * @param ref a finished ref of this connection
     * @param copies how many executors should hold it, at least 1
     * @throws QuiverException if the ref failed or is closed, or the copies are not made in time
     */
    void replicate(Ref<?> ref, int copies);

    /**
     * One task per item.
     *
     * @param fn the function of an item
     * @param items the items; each travels with its task
     * @param <T> the item type
     * @param <R> the result type
     * @return refs to the results, in item order
     */
    <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items);

    /**
     * One task per item; every task also gets {@code shared}'s value.
     *
     * @param fn the function of an item and the shared value
     * @param items the items
     * @param shared a scattered value every task reads
     * @param <T> the item type
     * @param <A> the shared value's type
     * @param <R> the result type
     * @return refs to the results, in item order
     */
    <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared);

    /**
     * Waits for every ref and fetches the values straight from the executors.
     *
     * @param refs the refs
     * @param <T> the value type
     * @return the values, in the order of {@code refs}
     * @throws TaskFailedException if a task threw (the first such, in order)
     */
    <T> List<T> gather(List<? extends Ref<? extends T>> refs);

    /**
     * The refs in the order they complete.
     *
     * @param refs the refs
     * @param <T> the value type
     * @return an iterable whose iterator blocks until the next ref completes
     */
    <T> Iterable<Ref<T>> asCompleted(List<Ref<T>> refs);

    /**
     * A snapshot of the cluster as the leader sees it.
     *
     * @return the leader, its epoch and the executors
     */
    ClusterInfo cluster();

    /**
     * A dataset of these items, cut into {@code partitions} partitions.
     *
     * @param items the items
     * @param partitions the partition count, at least 1
     * @param <T> the item type
     * @return the dataset (nothing runs until an action)
     */
    <T> Dataset<T> parallelize(List<T> items, int partitions);

    /**
     * The numbers from {@code fromInclusive} to {@code toExclusive}, generated on the executors.
     *
     * @param fromInclusive the first number
     * @param toExclusive one past the last number
     * @param partitions the partition count, at least 1
     * @return the dataset
     */
    Dataset<Long> range(long fromInclusive, long toExclusive, int partitions);

    /**
     * The lines of a file that every executor can read at {@code path}.
     *
     * @param path the file's path, the same on every executor
     * @param minPartitions the least number of partitions
     * @return the dataset of lines
     */
    Dataset<String> textFile(String path, int minPartitions);

    /** Releases every ref and persisted dataset of this connection. Idempotent. */
    @Override
    void close();
}
