package io.quiver.coordinator.sched;

import java.util.AbstractSet;
import java.util.Arrays;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An insertion-ordered set for the small sets a scattered or copied value carries (the executors a
 * scatter still waits for, the copies being made, see {@link Model.BlockExtras}): most have one or
 * two members, so a lone member is kept in a field and only two or more take an array. Empty or
 * with one member it costs 24 bytes, with two 48, where a {@code LinkedHashSet} costs about 72, 190
 * and 230. Membership is a scan: fine for sets bounded by the number of executors. Confined to the
 * scheduler loop, like the {@link Model.Block} it belongs to.
 */
final class SmallSet<T> extends AbstractSet<T> {
    /** The member while there is one only. */
    private Object one;
    /** The members while there are two or more. */
    private Object[] many;
    private int size;

    @Override
    public boolean add(T t) {
        if (contains(t)) {
            return false;
        }
        if (size == 0) {
            one = t;
        } else if (size == 1) {
            many = new Object[] {one, t};
            one = null;
        } else {
            if (size == many.length) {
                many = Arrays.copyOf(many, size * 2);
            }
            many[size] = t;
        }
        size++;
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
        one = null;
        many = null;
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
                return (T) at(last);
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

    private Object at(int i) {
        return size == 1 ? one : many[i];
    }

    private int indexOf(Object o) {
        for (int i = 0; i < size; i++) {
            if (at(i).equals(o)) {
                return i;
            }
        }
        return -1;
    }

    private void removeAt(int i) {
        if (size == 1) {
            one = null;
        } else if (size == 2) {
            one = many[1 - i];
            many = null;
        } else {
            System.arraycopy(many, i + 1, many, i, size - i - 1);
            many[size - 1] = null;
        }
        size--;
    }
}
