package io.quiver.core.task;

import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;

/** Adapters from the public function interfaces to {@link TaskFunction}. */
public final class UserFunctions {
    private UserFunctions() {}

    public record Call0(Fn0<?> fn) implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            return new Object[] {fn.apply()};
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public record Call1(Fn1 fn) implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            return new Object[] {fn.apply(args[0])};
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public record Call2(Fn2 fn) implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            return new Object[] {fn.apply(args[0], args[1])};
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public record Call3(Fn3 fn) implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            return new Object[] {fn.apply(args[0], args[1], args[2])};
        }
    }

    /** {@code submit(fn, refs)}: the function gets the values of all its input refs, in order, as one list. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public record CallList(Fn1 fn) implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            return new Object[] {fn.apply(java.util.Arrays.asList(args))};
        }
    }
}
