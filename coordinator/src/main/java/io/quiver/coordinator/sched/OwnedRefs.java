package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Block;
import java.util.AbstractCollection;
import java.util.ConcurrentModificationException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The values a client holds, in the order it came to hold them: a list linked through the values
 * themselves ({@link Block#prevOwned}, {@link Block#nextOwned}), so holding a ref costs its value
 * two references where a {@code LinkedHashSet} entry costs about 44 bytes, and adding and removing
 * stay O(1). Only values of this client ({@code Block.owner}) go in. Confined to the scheduler loop,
 * like the {@link Model.Client} that holds it.
 */
final class OwnedRefs extends AbstractCollection<Block> {
    private Block first;
    private Block last;
    private int size;
    private int modCount;

    @Override
    public boolean add(Block b) {
        if (contains(b)) {
            return false;
        }
        b.prevOwned = last;
        if (last == null) {
            first = b;
        } else {
            last.nextOwned = b;
        }
        last = b;
        size++;
        modCount++;
        return true;
    }

    @Override
    public boolean contains(Object o) {
        return o instanceof Block b && (b.prevOwned != null || first == b);
    }

    @Override
    public boolean remove(Object o) {
        if (!contains(o)) {
            return false;
        }
        Block b = (Block) o;
        if (b.prevOwned == null) {
            first = b.nextOwned;
        } else {
            b.prevOwned.nextOwned = b.nextOwned;
        }
        if (b.nextOwned == null) {
            last = b.prevOwned;
        } else {
            b.nextOwned.prevOwned = b.prevOwned;
        }
        b.prevOwned = null;
        b.nextOwned = null;
        size--;
        modCount++;
        return true;
    }

    @Override
    public void clear() {
        for (Block b = first; b != null; ) {
            Block next = b.nextOwned;
            b.prevOwned = null;
            b.nextOwned = null;
            b = next;
        }
        first = null;
        last = null;
        size = 0;
        modCount++;
    }

    @Override
    public int size() {
        return size;
    }

    /** In the order they were added; the set must not change while it is iterated (copy it first). */
    @Override
    public Iterator<Block> iterator() {
        return new Iterator<>() {
            private final int expected = modCount;
            private Block next = first;

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public Block next() {
                if (modCount != expected) {
                    throw new ConcurrentModificationException();
                }
                if (next == null) {
                    throw new NoSuchElementException();
                }
                Block b = next;
                next = b.nextOwned;
                return b;
            }
        };
    }
}
