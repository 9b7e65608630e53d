package io.quiver.coordinator.sched;

import io.quiver.coordinator.sched.Model.Exec;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The executors holding a value, in the order they came: an immutable set that values share. Most
 * values have one copy, and all those on one executor share that executor's own {@link Exec#alone},
 * so a value held once costs no object of its own (a {@code SmallSet} per value cost 24 bytes).
 * Changing a value's holders replaces its instance ({@link Model.Block#addLocation}). Made and read
 * on the scheduler loop, like the {@link Exec}s it names; an instance never changes.
 */
final class Locations extends AbstractSet<Exec> {
    static final Locations NONE = new Locations(new Exec[0]);

    private final Exec[] execs;

    private Locations(Exec[] execs) {
        this.execs = execs;
    }

    /** The set of {@code e} alone: made once per executor, as {@link Exec#alone}. */
    static Locations alone(Exec e) {
        return new Locations(new Exec[] {e});
    }

    /** This set with {@code e} last; this one if it has {@code e}. */
    Locations with(Exec e) {
        if (indexOf(e) >= 0) {
            return this;
        }
        if (execs.length == 0) {
            return e.alone;
        }
        Exec[] more = Arrays.copyOf(execs, execs.length + 1);
        more[execs.length] = e;
        return new Locations(more);
    }

    /** This set without {@code e}; this one if it lacks {@code e}. */
    Locations without(Exec e) {
        int i = indexOf(e);
        if (i < 0) {
            return this;
        }
        if (execs.length == 1) {
            return NONE;
        }
        if (execs.length == 2) {
            return execs[1 - i].alone;
        }
        Exec[] fewer = new Exec[execs.length - 1];
        System.arraycopy(execs, 0, fewer, 0, i);
        System.arraycopy(execs, i + 1, fewer, i, execs.length - i - 1);
        return new Locations(fewer);
    }

    @Override
    public boolean contains(Object o) {
        return o instanceof Exec e && indexOf(e) >= 0;
    }

    @Override
    public int size() {
        return execs.length;
    }

    @Override
    public Iterator<Exec> iterator() {
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < execs.length;
            }

            @Override
            public Exec next() {
                if (next >= execs.length) {
                    throw new NoSuchElementException();
                }
                return execs[next++];
            }
        };
    }

    private int indexOf(Exec e) {
        for (int i = 0; i < execs.length; i++) {
            if (execs[i] == e) {
                return i;
            }
        }
        return -1;
    }
}
