package io.quiver.core.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Fn2;
import io.quiver.KV;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/**
 * The combine table's primitive paths against the plain one: the same values (signed zeros told
 * apart), in the same bucket order, and the same exceptions when an entry does not fit.
 */
class CombineTableTest {

    @Test
    void recognizesTheJdkArithmeticAndNothingElse() {
        assertThat(Reducer.of((Fn2<Double, Double, Double>) Double::sum)).isEqualTo(Reducer.DOUBLE_SUM);
        assertThat(Reducer.of((Fn2<Double, Double, Double>) Math::max)).isEqualTo(Reducer.DOUBLE_MAX);
        assertThat(Reducer.of((Fn2<Integer, Integer, Integer>) Integer::sum)).isEqualTo(Reducer.INT_SUM);
        assertThat(Reducer.of((Fn2<Integer, Integer, Integer>) Math::min)).isEqualTo(Reducer.INT_MIN);
        assertThat(Reducer.of((Fn2<Long, Long, Long>) Long::max)).isEqualTo(Reducer.LONG_MAX);
        assertThat(Reducer.of((Fn2<Long, Long, Long>) Math::min)).isEqualTo(Reducer.LONG_MIN);

        // the same arithmetic written by the user is called as it is
        assertThat(Reducer.of((Fn2<Double, Double, Double>) (a, b) -> a + b)).isNull();
        // a method reference of another shape, a capturing lambda, a class: called as they are
        assertThat(Reducer.of((Fn2<Integer, Integer, Integer>) Integer::compare)).isNull();
        double scale = 2;
        assertThat(Reducer.of((Fn2<Double, Double, Double>) (a, b) -> a + b * scale)).isNull();
        assertThat(Reducer.of(new Max())).isNull();
        assertThat(Reducer.of((Fn2<Object, Object, Object>) (a, b) -> a)).isNull();
        assertThat(Reducer.of(null)).isNull();
    }

    /** A reduce function that is a class, not a lambda. */
    private static final class Max implements Fn2<Integer, Integer, Integer> {
        @Override
        public Integer apply(Integer a, Integer b) {
            return Math.max(a, b);
        }
    }

    @Test
    void everyReducerMatchesItsFunctionBitForBitInTheSameOrder() throws Exception {
        check((Fn2<Double, Double, Double>) Double::sum, Reducer.DOUBLE_SUM, CombineTableTest::doubleValue);
        check((Fn2<Double, Double, Double>) Double::min, Reducer.DOUBLE_MIN, CombineTableTest::doubleValue);
        check((Fn2<Double, Double, Double>) Double::max, Reducer.DOUBLE_MAX, CombineTableTest::doubleValue);
        check((Fn2<Integer, Integer, Integer>) Integer::sum, Reducer.INT_SUM, CombineTableTest::intValue);
        check((Fn2<Integer, Integer, Integer>) Integer::min, Reducer.INT_MIN, CombineTableTest::intValue);
        check((Fn2<Integer, Integer, Integer>) Integer::max, Reducer.INT_MAX, CombineTableTest::intValue);
        check((Fn2<Long, Long, Long>) Long::sum, Reducer.LONG_SUM, v -> v * 0x9E3779B97F4A7C15L);
        check((Fn2<Long, Long, Long>) Long::min, Reducer.LONG_MIN, v -> v * 0x9E3779B97F4A7C15L);
        check((Fn2<Long, Long, Long>) Long::max, Reducer.LONG_MAX, v -> v * 0x9E3779B97F4A7C15L);
    }

    /** NaNs, signed zeros, infinities and ordinary values. */
    private static Object doubleValue(long r) {
        double[] odd = {Double.NaN, -0.0, 0.0, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE};
        return r % 5 == 0 ? odd[(int) Math.floorMod(r, odd.length)] : (r % 1000) / 7.0;
    }

    /** Overflowing sums included. */
    private static Object intValue(long r) {
        return r % 3 == 0 ? Integer.MAX_VALUE - (int) (r % 5) : (int) r;
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static void check(Fn2 fn, Reducer reducer, LongFunction<Object> value) throws Exception {
        assertThat(Reducer.of(fn)).isEqualTo(reducer);
        Random random = new Random(reducer.ordinal());
        for (LongFunction<Object> key : List.<LongFunction<Object>>of(r -> (int) (r % 300), r -> r % 300 - 150L)) {
            CombineTable fast = new CombineTable(fn, reducer);
            CombineTable called = new CombineTable(fn, null); // primitive keys, boxed values
            CombineTable plain = CombineTable.plain(fn);
            Map<Object, Object> model = new LinkedHashMap<>();
            for (int i = 0; i < 5_000; i++) {
                Object k = key.apply(random.nextLong());
                Object v = value.apply(random.nextLong());
                fast.combine(k, v);
                called.combine(k, v);
                plain.combine(k, v);
                model.merge(k, v, (a, b) -> apply(fn, a, b));
            }
            assertThat(fast.size()).isEqualTo(model.size());
            assertSameBuckets(fast.toBuckets(7), plain.toBuckets(7));
            assertSameBuckets(called.toBuckets(7), plain.toBuckets(7));
            assertThat(asMap(fast.toBuckets(1))).isEqualTo(model);
        }
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static Object apply(Fn2 fn, Object a, Object b) {
        try {
            return fn.apply(a, b);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void aKeyOfAnotherTypeBoxesTheKeysInPlace() throws Exception {
        Fn2<Long, Long, Long> sum = Long::sum;
        CombineTable mixed = new CombineTable(sum, Reducer.of(sum));
        CombineTable plain = CombineTable.plain(sum);
        List<Object> keys = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            keys.add(i % 90); // Integer keys first: the int path
        }
        keys.addAll(List.of(5L, "five", KV.of(1, 2), 5, 7L));
        for (Object k : keys) {
            mixed.combine(k, 3L);
            plain.combine(k, 3L);
        }
        assertThat(asMap(mixed.toBuckets(1))).isEqualTo(asMap(plain.toBuckets(1))).containsEntry(5, 12L)
                .containsEntry(5L, 3L).containsEntry("five", 3L).hasSize(94);
        assertSameBuckets(mixed.toBuckets(4), plain.toBuckets(4));
    }

    @Test
    void aValueThatDoesNotFitGoesThroughTheFunctionAndFailsAsItWould() throws Exception {
        Fn2<Double, Double, Double> sum = Double::sum;
        CombineTable table = new CombineTable(sum, Reducer.of(sum));
        table.combine(1, 1.5);
        table.combine(2, null); // a new key with a null value: kept, as the plain table keeps it
        table.combine(1, 2.0);
        assertThat(asMap(table.toBuckets(1))).containsEntry(1, 3.5).containsEntry(2, null);
        assertThatThrownBy(() -> table.combine(2, 1.0)).isInstanceOf(NullPointerException.class);

        CombineTable ints = new CombineTable(sum, Reducer.of(sum));
        ints.combine(1L, 1.0);
        assertThatThrownBy(() -> ints.combine(1L, 2)).isInstanceOf(ClassCastException.class);
    }

    @Test
    void anEmptyTableHasNoBuckets() {
        Fn2<Integer, Integer, Integer> sum = Integer::sum;
        assertThat(new CombineTable(sum, Reducer.of(sum)).toBuckets(3)).containsExactly(null, null, null);
    }

    private static void assertSameBuckets(Object[] a, Object[] b) {
        assertThat(a).hasSameSizeAs(b);
        for (int i = 0; i < a.length; i++) {
            if (a[i] == null || b[i] == null) {
                assertThat(a[i]).as("bucket %s", i).isEqualTo(b[i]);
                continue;
            }
            KeyedBucket x = (KeyedBucket) a[i];
            KeyedBucket y = (KeyedBucket) b[i];
            assertThat(x.keys()).as("keys of bucket %s, in order", i).containsExactly(y.keys());
            assertThat(bits(x.values())).as("values of bucket %s", i).isEqualTo(bits(y.values()));
        }
    }

    /**
     * Values with doubles as their bits, so -0.0 and 0.0 differ. All NaNs are one: which NaN an
     * addition of NaNs gives is the hardware's and the JIT's choice (x86 gives the first operand's,
     * and C2 may swap the operands of an addition), not the table's.
     */
    private static List<Object> bits(Object[] values) {
        return Arrays.stream(values).map(v -> v instanceof Double d ? (Object) Double.doubleToLongBits(d) : v)
                .toList();
    }

    private static Map<Object, Object> asMap(Object[] buckets) {
        Map<Object, Object> m = new LinkedHashMap<>();
        for (Object o : buckets) {
            if (o != null) {
                KeyedBucket b = (KeyedBucket) o;
                for (int i = 0; i < b.size(); i++) {
                    m.put(b.keys()[i], b.values()[i]);
                }
            }
        }
        return m;
    }
}
