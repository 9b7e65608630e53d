package io.quiver.core.plan;

import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * A pull-based stream of {@link Batch}es: the sources of a stage and its fused operator segments.
 * Confined to one task's thread.
 */
interface Batches extends AutoCloseable {
    /**
     * Clears {@code out} and fills it with the next elements (possibly none).
     *
     * @return false once the stream is exhausted (then {@code out} is empty)
     */
    boolean next(Batch out) throws Exception;

    @Override
    default void close() throws IOException {}

    /** The elements of a list, in order. */
    static Batches of(List<?> list) {
        return new Batches() {
            private int at;

            @Override
            public boolean next(Batch out) {
                out.clear();
                int end = Math.min(list.size(), at + Batch.CAPACITY);
                for (; at < end; at++) {
                    out.add(list.get(at));
                }
                return out.size > 0;
            }
        };
    }

    /** The elements of several arrays, one after the other. */
    static Batches concat(List<Object[]> arrays) {
        return new Batches() {
            private int array;
            private int at;

            @Override
            public boolean next(Batch out) {
                out.clear();
                while (array < arrays.size() && !out.isFull()) {
                    Object[] a = arrays.get(array);
                    int end = Math.min(a.length, at + Batch.CAPACITY - out.size);
                    for (; at < end; at++) {
                        out.add(a[at]);
                    }
                    if (at == a.length) {
                        array++;
                        at = 0;
                    }
                }
                return out.size > 0;
            }
        };
    }

    /** The numbers {@code [from, to)} as Longs. */
    static Batches range(long from, long to) {
        return new Batches() {
            private long next = from;

            @Override
            public boolean next(Batch out) {
                out.clear();
                while (next < to && !out.isFull()) {
                    out.add(next++);
                }
                return out.size > 0;
            }
        };
    }

    /** Whatever an iterator yields (a user's mapPartitions result, a shuffle reader). */
    static Batches of(Iterator<?> it) {
        return new Batches() {
            @Override
            public boolean next(Batch out) {
                out.clear();
                while (!out.isFull() && it.hasNext()) {
                    out.add(it.next());
                }
                return out.size > 0;
            }
        };
    }

    /** The elements of {@code in} as an iterator, for a user's mapPartitions function. */
    static Iterator<Object> iterator(Batches in) {
        return new Iterator<>() {
            private final Batch batch = new Batch();
            private int at;
            private boolean done;

            @Override
            public boolean hasNext() {
                while (!done && at == batch.size) {
                    at = 0;
                    try {
                        done = !in.next(batch);
                    } catch (Exception e) {
                        throw StageFunction.sneaky(e);
                    }
                }
                return at < batch.size;
            }

            @Override
            public Object next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Object item = batch.items[at];
                batch.items[at++] = null;
                return item;
            }
        };
    }
}
