package io.quiver.core.plan;

import java.util.Arrays;

/**
 * A reusable buffer of elements that flows through a fused operator chain. Operators transform a
 * whole batch in a loop, so a chain of 1,000 operators costs 1,000 loop iterations per batch and no
 * stack depth. Confined to one task's thread.
 */
final class Batch {
    static final int CAPACITY = 1024;

    Object[] items = new Object[CAPACITY];
    int size;

    void add(Object item) {
        if (size == items.length) {
            items = Arrays.copyOf(items, items.length * 2);
        }
        items[size++] = item;
    }

    void clear() {
        Arrays.fill(items, 0, size, null);
        size = 0;
    }

    boolean isFull() {
        return size >= CAPACITY;
    }

    /** Exchanges contents with {@code other} (a flatMap writes into a scratch batch, then swaps). */
    void swap(Batch other) {
        Object[] a = items;
        int s = size;
        items = other.items;
        size = other.size;
        other.items = a;
        other.size = s;
    }
}
