package io.quiver.core.plan;

import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.KV;
import io.quiver.Pred;
import io.quiver.QuiverException;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.StageFunction.Op;

/**
 * The one-in, at-most-one-out operators that end a stage before its sink (map, filter, keyBy,
 * mapToPair, mapValues and the pinned forms), applied to one element at a time. A sink that takes
 * each result as it is made ({@link Shuffles#combineRange}) leaves the intermediate objects (the
 * {@code Long} of a range, a mapToPair's {@code KV}, its boxed key and value) unreferenced once
 * used, so the JIT, compiling the loop, the operators and the sink together, need not allocate
 * them at all; a {@link Batch} would hold every one of them. Confined to one task's thread.
 */
final class RowOps {
    /** What {@link #apply} returns for an element a filter dropped. */
    static final Object DROPPED = new Object();

    private final Kind[] kinds;
    private final String[] names;
    private final Object[] fns;
    private final Object[] pinned;

    /**
     * @param opIndices indices into {@code ops}, each a {@link #isRowOp row operator}, in order
     * @param pinArgs for each, the argument index of its pinned value, or -1
     */
    RowOps(Op[] ops, int[] opIndices, int[] pinArgs, Object[] args, Object[] stageFns) {
        StageFunction.Operators o = new StageFunction.Operators(ops, opIndices, pinArgs, args, stageFns);
        for (Kind kind : o.kinds) {
            if (!isRowOp(kind)) {
                throw new IllegalArgumentException("not a row operator: " + kind);
            }
        }
        kinds = o.kinds;
        names = o.names;
        fns = o.fns;
        pinned = o.pinned;
    }

    /** Operators that turn one element into one element, or drop it. */
    static boolean isRowOp(Kind kind) {
        return switch (kind) {
            case MAP, MAP_PINNED, FILTER, FILTER_PINNED, KEY_BY, MAP_TO_PAIR, MAP_VALUES -> true;
            default -> false;
        };
    }

    /**
     * {@code x} through every operator, or {@link #DROPPED}. One and two operators are spelled out
     * rather than looped over: an object carried around a loop (a phi of the loop) is one the JIT's
     * escape analysis gives up on, and then every intermediate object is allocated.
     */
    Object apply(Object x) throws Exception {
        return switch (kinds.length) {
            case 0 -> x;
            case 1 -> step(0, x);
            case 2 -> {
                Object y = step(0, x);
                yield y == DROPPED ? y : step(1, y);
            }
            default -> applyAll(x);
        };
    }

    private Object applyAll(Object x) throws Exception {
        for (int k = 0; k < kinds.length && x != DROPPED; k++) {
            x = step(k, x);
        }
        return x;
    }

    /** Operator {@code k} applied to {@code x}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private Object step(int k, Object x) throws Exception {
        switch (kinds[k]) {
            case MAP, MAP_TO_PAIR -> {
                return ((Fn1) fns[k]).apply(x);
            }
            case MAP_PINNED -> {
                return ((Fn2) fns[k]).apply(x, pinned[k]);
            }
            case FILTER -> {
                return ((Pred) fns[k]).test(x) ? x : DROPPED;
            }
            case FILTER_PINNED -> {
                return kept(names[k], x, ((Fn2) fns[k]).apply(x, pinned[k])) ? x : DROPPED;
            }
            case KEY_BY -> {
                return KV.of(((Fn1) fns[k]).apply(x), x);
            }
            default -> {
                return mapValue(names[k], x, (Fn1) fns[k]); // MAP_VALUES
            }
        }
    }

    /** A pinned filter's verdict on {@code x}; a null one is an error naming the operator. */
    static boolean kept(String operator, Object x, Object keep) {
        if (keep == null) {
            throw new QuiverException(operator + ": the predicate returned null for " + x
                    + "; return true or false");
        }
        return (Boolean) keep;
    }

    /** mapValues of one element, which must be a pair. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Object mapValue(String operator, Object x, Fn1 f) throws Exception {
        if (!(x instanceof KV<?, ?> kv)) {
            throw new QuiverException(operator + ": " + (x == null ? "null element"
                    : "element of type " + x.getClass().getName())
                    + " is not a KV pair; mapValues needs a pair dataset without null elements");
        }
        return KV.of(kv.key(), f.apply(kv.value()));
    }
}
