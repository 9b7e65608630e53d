package io.quiver.core.client;

import io.quiver.ClusterInfo;
import io.quiver.Dataset;
import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.Submit;
import java.util.List;

/**
 * A {@link Quiver} that hands every call to another one (as Guava's {@code Forwarding*} classes
 * do); subclasses override what they change. Thread-safe if the delegate is.
 */
public abstract class ForwardingQuiver implements Quiver {
    private final Quiver delegate;

    /**
     * A Quiver that forwards to {@code delegate}.
     *
     * @param delegate where every call goes
     */
    protected ForwardingQuiver(Quiver delegate) {
        this.delegate = delegate;
    }

    /**
     * Where calls go.
     *
     * @return the delegate
     */
    protected Quiver delegate() {
        return delegate;
    }

    @Override
    public <T> Ref<T> scatter(T value) {
        return delegate.scatter(value);
    }

    @Override
    public <T> Ref<T> scatter(T value, Scatter options) {
        return delegate.scatter(value, options);
    }

    @Override
    public <R> Ref<R> submit(Fn0<R> fn) {
        return delegate.submit(fn);
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a) {
        return delegate.submit(fn, a);
    }

    @Override
    public <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b) {
        return delegate.submit(fn, a, b);
    }

    @Override
    public <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c) {
        return delegate.submit(fn, a, b, c);
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<List<A>, R> fn, List<? extends Ref<? extends A>> inputs) {
        return delegate.submit(fn, inputs);
    }

    @Override
    public Quiver with(Submit options) {
        return delegate.with(options);
    }

    @Override
    public void replicate(Ref<?> ref, int copies) {
        delegate.replicate(ref, copies);
    }

    @Override
    public <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items) {
        return delegate.map(fn, items);
    }

    @Override
    public <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared) {
        return delegate.map(fn, items, shared);
    }

    @Override
    public <T> List<T> gather(List<? extends Ref<? extends T>> refs) {
        return delegate.gather(refs);
    }

    @Override
    public <T> Iterable<Ref<T>> asCompleted(List<Ref<T>> refs) {
        return delegate.asCompleted(refs);
    }

    @Override
    public ClusterInfo cluster() {
        return delegate.cluster();
    }

    @Override
    public <T> Dataset<T> parallelize(List<T> items, int partitions) {
        return delegate.parallelize(items, partitions);
    }

    @Override
    public Dataset<Long> range(long fromInclusive, long toExclusive, int partitions) {
        return delegate.range(fromInclusive, toExclusive, partitions);
    }

    @Override
    public Dataset<String> textFile(String path, int minPartitions) {
        return delegate.textFile(path, minPartitions);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
