package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Task;
import java.util.AbstractCollection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * The tasks waiting for a block, as a multiset in the order they first came (a task that reads the
 * block twice is in it twice). Adding and removing a task cost O(1), so a shuffle map output read
 * by 2,000 reduce tasks is not scanned 2,000 times as its readers finish. Confined to the
 * scheduler loop, like the {@link Model.Block} that holds it, and only while somebody waits.
 */
final class Waiters extends AbstractCollection<Task> {
    private final LinkedHashMap<Task, int[]> counts = new LinkedHashMap<>(4);
    private int size;

    @Override
    public boolean add(Task t) {
        counts.computeIfAbsent(t, k -> new int[1])[0]++;
        size++;
        return true;
    }

    /** Removes one occurrence of {@code o}; whether there was one. */
    @Override
    public boolean remove(Object o) {
        int[] n = counts.get(o);
        if (n == null) {
            return false;
        }
        if (--n[0] == 0) {
            counts.remove(o);
        }
        size--;
        return true;
    }

    @Override
    public boolean contains(Object o) {
        return counts.containsKey(o);
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void clear() {
        counts.clear();
        size = 0;
    }

    @Override
    public Iterator<Task> iterator() {
        Iterator<Map.Entry<Task, int[]>> entries = counts.entrySet().iterator();
        return new Iterator<>() {
            private Task current;
            private int left;

            @Override
            public boolean hasNext() {
                return left > 0 || entries.hasNext();
            }

            @Override
            public Task next() {
                if (left == 0) {
                    if (!entries.hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Map.Entry<Task, int[]> e = entries.next();
                    current = e.getKey();
                    left = e.getValue()[0];
                }
                left--;
                return current;
            }
        };
    }
}
