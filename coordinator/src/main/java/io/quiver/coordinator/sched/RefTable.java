package io.quiver.coordinator.sched;

import io.quiver.RefId;
import java.util.AbstractCollection;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * Values by the {@link RefId} each one carries (a task by its id, a value by its ref): open
 * addressing with linear probing, one reference per slot and the key read from the value, so an
 * entry costs 5 to 11 bytes (compressed references, the table between 3/8 and 3/4 full) where a
 * {@code HashMap} entry costs about 42. The leader keeps one entry per live ref and per task.
 * Iteration is in slot order, the same for the same keys. Confined to the scheduler loop, like the
 * {@link BlockManager} and {@link TaskGraph} that hold one.
 */
final class RefTable<V> extends AbstractCollection<V> {
    private static final int MIN_CAPACITY = 16;

    private final Function<V, RefId> keyOf;
    private Object[] slots = new Object[MIN_CAPACITY];
    private int size;
    private int modCount;

    RefTable(Function<V, RefId> keyOf) {
        this.keyOf = keyOf;
    }

    /** The value with this key, or null. */
    V get(RefId key) {
        Object[] a = slots;
        int mask = a.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            V v = at(a, i);
            if (v == null || keyOf.apply(v).equals(key)) {
                return v;
            }
        }
    }

    /** Puts {@code v} under its key; returns the value it replaced, or null. */
    V put(V v) {
        return insert(v, true);
    }

    /** Puts {@code v} under its key unless a value is there; returns that value, or null. */
    V putIfAbsent(V v) {
        return insert(v, false);
    }

    /** Removes the value with this key; returns it, or null. */
    V remove(RefId key) {
        Object[] a = slots;
        int mask = a.length - 1;
        int i = slot(key, mask);
        for (; ; i = (i + 1) & mask) {
            V v = at(a, i);
            if (v == null) {
                return null;
            }
            if (keyOf.apply(v).equals(key)) {
                break;
            }
        }
        V removed = at(a, i);
        // Backward shift: move up each later entry of the run whose home slot does not lie in (i, j].
        for (int j = (i + 1) & mask; a[j] != null; j = (j + 1) & mask) {
            int home = slot(keyOf.apply(at(a, j)), mask);
            if (((j - home) & mask) >= ((j - i) & mask)) {
                a[i] = a[j];
                i = j;
            }
        }
        a[i] = null;
        size--;
        modCount++;
        return removed;
    }

    @Override
    public int size() {
        return size;
    }

    /** In slot order; the table must not change while it is iterated (copy it first to change it). */
    @Override
    public Iterator<V> iterator() {
        return new Iterator<>() {
            private final int expected = modCount;
            private int next = advance(0);

            private int advance(int from) {
                int i = from;
                while (i < slots.length && slots[i] == null) {
                    i++;
                }
                return i;
            }

            @Override
            public boolean hasNext() {
                return next < slots.length;
            }

            @Override
            public V next() {
                if (modCount != expected) {
                    throw new ConcurrentModificationException();
                }
                if (next >= slots.length) {
                    throw new NoSuchElementException();
                }
                V v = at(slots, next);
                next = advance(next + 1);
                return v;
            }
        };
    }

    private V insert(V v, boolean replace) {
        RefId key = keyOf.apply(v);
        Object[] a = slots;
        int mask = a.length - 1;
        int i = slot(key, mask);
        for (; a[i] != null; i = (i + 1) & mask) {
            V old = at(a, i);
            if (keyOf.apply(old).equals(key)) {
                if (replace) {
                    a[i] = v;
                    modCount++;
                }
                return old;
            }
        }
        a[i] = v;
        modCount++;
        if (++size > a.length - (a.length >> 2)) {
            resize(a.length * 2);
        }
        return null;
    }

    private void resize(int capacity) {
        Object[] old = slots;
        Object[] a = new Object[capacity];
        int mask = capacity - 1;
        for (Object o : old) {
            if (o != null) {
                @SuppressWarnings("unchecked")
                V v = (V) o;
                int i = slot(keyOf.apply(v), mask);
                while (a[i] != null) {
                    i = (i + 1) & mask;
                }
                a[i] = o;
            }
        }
        slots = a;
    }

    @SuppressWarnings("unchecked")
    private static <V> V at(Object[] a, int i) {
        return (V) a[i];
    }

    /** Both halves mixed (murmur3's finalizer): clients mint consecutive sequence numbers under one owner. */
    private static int slot(RefId key, int mask) {
        long h = key.owner() * 0x9E3779B97F4A7C15L + key.seq();
        h = (h ^ (h >>> 33)) * 0xFF51AFD7ED558CCDL;
        h = (h ^ (h >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return (int) (h ^ (h >>> 33)) & mask;
    }
}
