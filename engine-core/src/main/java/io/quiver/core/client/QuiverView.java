package io.quiver.core.client;

import static com.google.common.base.Preconditions.checkNotNull;

import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Submit;
import io.quiver.core.protocol.Message.TaskOptions;
import java.util.List;

/**
 * {@link Quiver#with(Submit)}: the same connection, whose {@code submit} and {@code map} calls
 * carry the options. Immutable and thread-safe, like the client it wraps; closing it closes nothing.
 */
final class QuiverView extends ForwardingQuiver {
    private final QuiverClient client;
    private final Submit submit;
    private final TaskOptions options;

    QuiverView(QuiverClient client, Submit submit) {
        super(client);
        this.client = client;
        this.submit = submit;
        this.options = QuiverClient.taskOptions(submit);
    }

    @Override
    public <R> Ref<R> submit(Fn0<R> fn) {
        return client.submit(options, fn);
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<A, R> fn, Ref<A> a) {
        return client.submit(options, fn, a);
    }

    @Override
    public <A, B, R> Ref<R> submit(Fn2<A, B, R> fn, Ref<A> a, Ref<B> b) {
        return client.submit(options, fn, a, b);
    }

    @Override
    public <A, B, C, R> Ref<R> submit(Fn3<A, B, C, R> fn, Ref<A> a, Ref<B> b, Ref<C> c) {
        return client.submit(options, fn, a, b, c);
    }

    @Override
    public <A, R> Ref<R> submit(Fn1<List<A>, R> fn, List<? extends Ref<? extends A>> inputs) {
        return client.submit(options, fn, inputs);
    }

    @Override
    public Quiver with(Submit other) {
        checkNotNull(other, "with: options is null; use Submit.defaults() for none");
        return new QuiverView(client, other);
    }

    @Override
    public <T, R> List<Ref<R>> map(Fn1<T, R> fn, List<T> items) {
        return client.map(options, fn, items);
    }

    @Override
    public <T, A, R> List<Ref<R>> map(Fn2<T, A, R> fn, List<T> items, Ref<A> shared) {
        return client.map(options, fn, items, shared);
    }

    /** Closes nothing: the connection closes with the {@code Quiver} the view was made from. */
    @Override
    public void close() {}

    @Override
    public String toString() {
        return "Quiver.with(" + submit + ") of " + client;
    }
}
