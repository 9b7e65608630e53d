package io.quiver.executor;

import io.quiver.core.task.TaskContext;
import io.quiver.core.task.TaskFunction;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Task functions for tests. Executors in tests share this class loader, so statics are visible. */
final class Fns {
    private Fns() {}

    /** x + 1; counts how often an instance is deserialized. */
    static final class AddOne implements TaskFunction {
        static final AtomicInteger DESERIALIZED = new AtomicInteger();

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            DESERIALIZED.incrementAndGet();
        }

        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            return new Object[] {((Integer) args[0]) + 1};
        }
    }

    /** sum(array) + k. */
    static final class SumPlus implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            double[] a = (double[]) args[0];
            double s = 0;
            for (double d : a) {
                s += d;
            }
            return new Object[] {s + (Integer) args[1]};
        }
    }

    static final class Throws implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            throw new IllegalArgumentException("boom " + args[0]);
        }
    }

    /** Returns its argument, and one more output per extra output slot. */
    static final class Echo implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            Object[] out = new Object[ctx.outputs()];
            for (int i = 0; i < out.length; i++) {
                out[i] = args[0];
            }
            return out;
        }
    }

    /** Waits for {@link #RELEASE}, then returns the executor's id. */
    static final class Blocking implements TaskFunction {
        static volatile CountDownLatch started = new CountDownLatch(1);
        static volatile CountDownLatch release = new CountDownLatch(1);

        @Override
        public Object[] run(Object[] args, TaskContext ctx) throws Exception {
            started.countDown();
            if (!release.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
            return new Object[] {ctx.executorId()};
        }
    }

    /** Spins on the CPU until {@link #release} is set, then returns its count of spins. */
    static final class Spinning implements TaskFunction {
        static volatile CountDownLatch started = new CountDownLatch(1);
        static volatile boolean release;

        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            started.countDown();
            long spins = 0;
            while (!release) {
                spins++;
            }
            return new Object[] {spins};
        }
    }

    /** Returns a big array of {@code n} doubles, each {@code x}. */
    static final class Fill implements TaskFunction {
        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            double[] a = new double[(Integer) args[0]];
            java.util.Arrays.fill(a, 1.0);
            return new Object[] {a};
        }
    }

    /** args[0] a bucket, then map outputs: "S" or "W" (slice or whole) and that bucket's rows, for each. */
    static final class BucketRows implements TaskFunction {
        private static final long serialVersionUID = 1L;

        @Override
        public Object[] run(Object[] args, TaskContext ctx) {
            int bucket = (Integer) args[0];
            StringBuilder out = new StringBuilder();
            for (int i = 1; i < args.length; i++) {
                io.quiver.core.plan.ShuffleOutput so = (io.quiver.core.plan.ShuffleOutput) args[i];
                out.append(so.isSlice() ? "S" : "W").append(java.util.Arrays.toString((Object[]) so.bucket(bucket)));
            }
            return new Object[] {out.toString()};
        }
    }
}
