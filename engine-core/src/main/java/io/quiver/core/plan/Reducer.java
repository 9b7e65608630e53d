package io.quiver.core.plan;

import io.quiver.core.codec.JavaSerialization;
import java.lang.invoke.MethodHandleInfo;
import java.lang.invoke.SerializedLambda;
import java.util.Map;

/**
 * The JDK's own sums, minima and maxima ({@code Double::sum}, {@code Integer::max}, {@code
 * Math::min}, ...) recognized in a reduce function, so that a {@link CombineTable} can keep their
 * values unboxed and combine them without calling the function: the same arithmetic, with no
 * {@code Double} allocated per row. Recognition reads the method reference a serializable lambda
 * names (its {@link SerializedLambda}); anything else, a user's own {@code (a, b) -> a + b}
 * included, is called as it is. Immutable.
 */
enum Reducer {
    INT_SUM(Integer.class),
    INT_MIN(Integer.class),
    INT_MAX(Integer.class),
    LONG_SUM(Long.class),
    LONG_MIN(Long.class),
    LONG_MAX(Long.class),
    DOUBLE_SUM(Double.class),
    DOUBLE_MIN(Double.class),
    DOUBLE_MAX(Double.class);

    /** By {@code owner.name descriptor} of the static method a method reference names. */
    private static final Map<String, Reducer> BY_METHOD = Map.ofEntries(
            Map.entry("java/lang/Integer.sum(II)I", INT_SUM),
            Map.entry("java/lang/Integer.min(II)I", INT_MIN),
            Map.entry("java/lang/Integer.max(II)I", INT_MAX),
            Map.entry("java/lang/Math.min(II)I", INT_MIN),
            Map.entry("java/lang/Math.max(II)I", INT_MAX),
            Map.entry("java/lang/Long.sum(JJ)J", LONG_SUM),
            Map.entry("java/lang/Long.min(JJ)J", LONG_MIN),
            Map.entry("java/lang/Long.max(JJ)J", LONG_MAX),
            Map.entry("java/lang/Math.min(JJ)J", LONG_MIN),
            Map.entry("java/lang/Math.max(JJ)J", LONG_MAX),
            Map.entry("java/lang/Double.sum(DD)D", DOUBLE_SUM),
            Map.entry("java/lang/Double.min(DD)D", DOUBLE_MIN),
            Map.entry("java/lang/Double.max(DD)D", DOUBLE_MAX),
            Map.entry("java/lang/Math.min(DD)D", DOUBLE_MIN),
            Map.entry("java/lang/Math.max(DD)D", DOUBLE_MAX));

    /** The boxed type of the values; a value of any other type goes through the function. */
    final Class<?> type;

    Reducer(Class<?> type) {
        this.type = type;
    }

    /** The reducer {@code fn} is a method reference to, or null (then call {@code fn}). */
    static Reducer of(Object fn) {
        SerializedLambda lambda = JavaSerialization.serializedLambda(fn);
        if (lambda == null || lambda.getImplMethodKind() != MethodHandleInfo.REF_invokeStatic
                || lambda.getCapturedArgCount() != 0) {
            return null;
        }
        Reducer r = BY_METHOD.get(lambda.getImplClass() + "." + lambda.getImplMethodName()
                + lambda.getImplMethodSignature());
        // The boxed signature the lambda was made for: Double::sum as a Fn2<Double, Double, Double>.
        String box = r == null ? null : "L" + r.type.getName().replace('.', '/') + ";";
        return r != null && lambda.getInstantiatedMethodType().equals("(" + box + box + ")" + box) ? r : null;
    }

    /** The boxed value of {@code bits}: an int or long as it is, a double from its raw bits. */
    Object box(long bits) {
        return switch (this) {
            case INT_SUM, INT_MIN, INT_MAX -> (int) bits;
            case LONG_SUM, LONG_MIN, LONG_MAX -> bits;
            default -> Double.longBitsToDouble(bits);
        };
    }

    /** {@code a} combined with {@code b}, both as {@link #box} reads them, as the JDK method would. */
    long apply(long a, long b) {
        return switch (this) {
            case INT_SUM -> (int) a + (int) b;
            case INT_MIN -> Math.min((int) a, (int) b);
            case INT_MAX -> Math.max((int) a, (int) b);
            case LONG_SUM -> a + b;
            case LONG_MIN -> Math.min(a, b);
            case LONG_MAX -> Math.max(a, b);
            case DOUBLE_SUM -> Double.doubleToRawLongBits(Double.longBitsToDouble(a) + Double.longBitsToDouble(b));
            case DOUBLE_MIN -> Double.doubleToRawLongBits(Math.min(Double.longBitsToDouble(a), Double.longBitsToDouble(b)));
            case DOUBLE_MAX -> Double.doubleToRawLongBits(Math.max(Double.longBitsToDouble(a), Double.longBitsToDouble(b)));
        };
    }
}
