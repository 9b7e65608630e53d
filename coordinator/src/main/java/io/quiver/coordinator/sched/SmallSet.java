package io.quiver.coordinator.sched;

import java.util.AbstractSet;
import java.util.Arrays;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An insertion-ordered set kept in an array, for the small sets every value carries (its holders,
 * the executors a scatter still waits for, the copies being made): most have none, one or two
 * members, and a leader keeps one per live ref, so an empty one costs 24 bytes and one member 48,
 * where a {@code LinkedHashSet} costs about 72 and 190. Membership is a scan: fine for sets bounded
 * by the number of executors. Confined to the scheduler loop, like the {@link Model.Block} that
 * holds it.
 */
final class SmallSet<T> extends AbstractSet<T> {
    private static final Object[] EMPTY = {};

    private Object[] items = EMPTY;
    private int size;

    @Override
    public boolean add(T t) {
        if (contains(t)) {
            return false;
        }
        if (size == items.length) {
            items = Arrays.copyOf(items, size == 0 ? 2 : size * 2);
        }
        items[size++] = t;
        return true;
    }

    @Override
    public boolean contains(Object o) {
        return indexOf(o) >= 0;
    }

    @Override
    public boolean remove(Object o) {
        int i = indexOf(o);
        if (i < 0) {
            return false;
        }
        removeAt(i);
        return true;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void clear() {
        items = EMPTY;
        size = 0;
    }

    @Override
    public Iterator<T> iterator() {
        return new Iterator<>() {
            private int next;
            private int last = -1;
            private int expectedSize = size;

            @Override
            public boolean hasNext() {
                return next < size;
            }

            @Override
            @SuppressWarnings("unchecked")
            public T next() {
                if (expectedSize != size) {
                    throw new ConcurrentModificationException();
                }
                if (next >= size) {
                    throw new NoSuchElementException();
                }
                last = next++;
                return (T) items[last];
            }

            @Override
            public void remove() {
                if (last < 0) {
                    throw new IllegalStateException();
                }
                removeAt(last);
                next = last;
                last = -1;
                expectedSize = size;
            }
        };
    }

    private int indexOf(Object o) {
        for (int i = 0; i < size; i++) {
            if (items[i].equals(o)) {
                return i;
            }
        }
        return -1;
    }

    private void removeAt(int i) {
        System.arraycopy(items, i + 1, items, i, size - i - 1);
        items[--size] = null;
        if (size == 0) {
            items = EMPTY;
        }
    }
}
