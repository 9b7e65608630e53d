package io.quiver;

import io.quiver.core.client.Connector;
import java.util.List;

/**
 * A connection to a Quiver cluster: scatter data once, submit many functions over it, gather the
 * results; or build a {@link Dataset} pipeline. Thread-safe.
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
     */
    static Quiver connect(String url) {
        return Connector.connect(url, ConnectOptions.defaults());
    }

    /**
     * Connects as {@link #connect(String)} does, with these options. For {@code local[N]} only the
     * secret applies: the embedded cluster and this connection use it.
     */
    static Quiver connect(String url, ConnectOptions options) {
        return Connector.connect(url, options);
    }

    <T> Ref<T> scatter(T value);

    <T> Ref<T> scatter(T value, Scatter options);

    <R> Ref<R> submit(Fn0<R> fn);

    <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a);

    <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b);

    <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c);

    <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items);

    <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared);

    <T> List<T> gather(List<? extends Ref<? extends T>> refs);

    <T> Iterable<Ref<T>> asCompleted(List<Ref<T>> refs);

    ClusterInfo cluster();

    <T> Dataset<T> parallelize(List<T> items, int partitions);

    Dataset<Long> range(long fromInclusive, long toExclusive, int partitions);

    Dataset<String> textFile(String path, int minPartitions);

    /** Releases every ref and persisted dataset of this connection. Idempotent. */
    @Override
    void close();
}
