package io.quiver.core.task;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.QuiverException;
import io.quiver.core.codec.JavaSerialization;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The compact form of submitted lambdas: what it carries back, and what it leaves to Java serialization. */
class CompactFunctionsTest {
    static final ClassLoader LOADER = CompactFunctionsTest.class.getClassLoader();
    final int field = 40;

    static Object[] run(TaskFunction fn, Object... args) throws Exception {
        return fn.run(args, null);
    }

    static TaskFunction roundTrip(TaskFunction fn) {
        byte[] bytes = CompactFunctions.encode(fn);
        assertThat(bytes).as("a compact form").isNotNull();
        assertThat(CompactFunctions.isCompact(bytes)).isTrue();
        return CompactFunctions.decode(bytes, LOADER);
    }

    @Test
    void lambdasWithTheirCapturedValuesComeBackAndRunTheSame() throws Exception {
        int k = 41;
        String suffix = "!";
        List<Integer> list = List.of(1, 2, 3);
        assertThat(run(roundTrip(new UserFunctions.Call0((Fn0<Integer>) () -> k + 1)))).containsExactly(42);
        assertThat(run(roundTrip(new UserFunctions.Call1((Fn1<String, String>) s -> s + suffix)), "hi"))
                .containsExactly("hi!");
        assertThat(run(roundTrip(new UserFunctions.Call2((Fn2<Integer, Integer, Integer>) (a, b) -> a * b + list.size())),
                6, 7)).containsExactly(45);
        assertThat(run(roundTrip(new UserFunctions.Call1((Fn1<String, Integer>) String::length)), "four"))
                .containsExactly(4);
        assertThat(run(roundTrip(new UserFunctions.CallList((Fn1<List<Integer>, Integer>) l -> l.size())), 1, 2, 3))
                .containsExactly(3);
    }

    @Test
    void aLoopOfOneLambdaWritesItsShapeOnceAndOnlyItsCapturesDiffer() {
        byte[] a = CompactFunctions.encode(captureOf(1));
        byte[] b = CompactFunctions.encode(captureOf(2));
        assertThat(a).hasSameSizeAs(b).isNotEqualTo(b);
        byte[] plain = JavaSerialization.serialize(captureOf(1), "test");
        assertThat(a.length).as("compact vs Java serialization").isLessThan(plain.length);
    }

    static TaskFunction captureOf(int k) {
        return new UserFunctions.Call0((Fn0<Integer>) () -> k * 2);
    }

    static final class NotSerializable {
        final int x = 1;
    }

    static final class AnonymousFn implements Fn0<Integer>, Serializable {
        @Override
        public Integer apply() {
            return 7;
        }
    }

    @Test
    void whatItCannotExpressIsLeftToJavaSerialization() {
        NotSerializable ns = new NotSerializable();
        assertThat(CompactFunctions.encode(new UserFunctions.Call0((Fn0<Integer>) () -> ns.x)))
                .as("a capture that does not serialize: the usual path names it").isNull();
        assertThat(CompactFunctions.encode(new UserFunctions.Call0((Fn0<Integer>) () -> field)))
                .as("a lambda capturing a test that does not serialize").isNull();
        assertThat(CompactFunctions.encode(new UserFunctions.Call0(new AnonymousFn()))).as("not a lambda").isNull();
        assertThat(CompactFunctions.encode((args, ctx) -> args)).as("not a user adapter").isNull();
    }

    @Test
    void malformedBytesAndMissingClassesAreClearErrors() {
        byte[] good = CompactFunctions.encode(captureOf(3));
        byte[] truncated = java.util.Arrays.copyOf(good, 12);
        assertThatThrownBy(() -> CompactFunctions.decode(truncated, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("corrupt compact function");
        assertThatThrownBy(() -> CompactFunctions.decode(new byte[] {1, 2}, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("not a compact function");
        byte[] badAdapter = good.clone();
        badAdapter[4] = 9;
        assertThatThrownBy(() -> CompactFunctions.decode(badAdapter, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("unknown adapter 9");
        // The capturing class renamed to one of the same length that does not exist.
        String name = CompactFunctionsTest.class.getName().replace('.', '/');
        String missing = name.substring(0, name.length() - 4) + "Gone";
        byte[] renamed = new String(good, StandardCharsets.ISO_8859_1).replace(name, missing)
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> CompactFunctions.decode(renamed, LOADER))
                .isInstanceOf(JavaSerialization.MissingClassException.class)
                .hasMessageContaining(missing.replace('/', '.'))
                .hasMessageContaining("--classpath");
    }

    @Test
    void plainCapturedValuesAreTaggedAndComeBackExactly() throws Exception {
        int i = -7;
        long l = Long.MIN_VALUE;
        double nan = Double.longBitsToDouble(0x7ff8_0000_dead_beefL);
        float f = -0.0f;
        boolean z = true;
        byte b = (byte) 0x80;
        short sh = Short.MIN_VALUE;
        char c = '\uffff';
        String latin = "caf\u00e9";
        String wide = "\u4e2d\ud800x"; // a lone surrogate, which UTF-8 would not keep
        String empty = "";
        Integer none = null;
        TaskFunction fn = new UserFunctions.Call0((Fn0<List<Object>>) () -> java.util.Arrays.asList(
                i, l, nan, f, z, b, sh, c, latin, wide, empty, none));
        byte[] bytes = CompactFunctions.encode(fn);
        assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).as("no Java serialization stream")
                .doesNotContain("\u00ac\u00ed");
        @SuppressWarnings("unchecked")
        List<Object> back = (List<Object>) run(CompactFunctions.decode(bytes, LOADER))[0];
        assertThat(back).containsExactly(i, l, nan, f, z, b, sh, c, latin, wide, empty, null);
        assertThat(Double.doubleToRawLongBits((Double) back.get(2))).isEqualTo(0x7ff8_0000_dead_beefL);
        assertThat(Float.floatToRawIntBits((Float) back.get(3))).isEqualTo(Float.floatToRawIntBits(-0.0f));
    }

    @Test
    void aCaptureThatIsNotAPlainValueSendsAllOfThemThroughJavaSerialization() throws Exception {
        int k = 2;
        List<Integer> list = List.of(1, 2, 3);
        String longString = "x".repeat((1 << 16) + 1);
        TaskFunction fn = new UserFunctions.Call0((Fn0<Integer>) () -> k * list.size() + longString.length());
        byte[] bytes = CompactFunctions.encode(fn);
        assertThat(new String(bytes, StandardCharsets.ISO_8859_1)).contains("\u00ac\u00ed");
        assertThat(run(CompactFunctions.decode(bytes, LOADER))).containsExactly(6 + (1 << 16) + 1);
        TaskFunction onlyLong = new UserFunctions.Call0((Fn0<Integer>) () -> longString.length());
        assertThat(new String(CompactFunctions.encode(onlyLong), StandardCharsets.ISO_8859_1))
                .as("a string longer than a control message should carry").contains("\u00ac\u00ed");
    }

    @Test
    void malformedTaggedValuesAreClearErrors() {
        String s = "name";
        long v = 5;
        byte[] good = CompactFunctions.encode(new UserFunctions.Call0((Fn0<String>) () -> s + v));
        int tagged = new String(good, StandardCharsets.ISO_8859_1).lastIndexOf("T\u0000\u0002");
        assertThat(tagged).as("the tagged section").isPositive();
        int firstTag = tagged + 3;
        byte[] unknownTag = good.clone();
        unknownTag[firstTag] = 'Q';
        assertThatThrownBy(() -> CompactFunctions.decode(unknownTag, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("captured value 0 has unknown tag 0x51");
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 3);
        assertThatThrownBy(() -> CompactFunctions.decode(truncated, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("run past");
        byte[] trailing = java.util.Arrays.copyOf(good, good.length + 2);
        assertThatThrownBy(() -> CompactFunctions.decode(trailing, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("2 bytes follow its captured values");
        byte[] hugeString = good.clone();
        int stringLength = firstTag + 1; // after the 'L' of the captured "name"
        hugeString[stringLength] = 0x7f;
        assertThatThrownBy(() -> CompactFunctions.decode(hugeString, LOADER)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("a captured string of");
    }

    @Test
    void aShapeResolvedThroughOneLoaderIsResolvedAgainThroughAnother() throws Exception {
        byte[] bytes = CompactFunctions.encode(captureOf(5));
        assertThat(run(CompactFunctions.decode(bytes, LOADER))).containsExactly(10);
        try (java.net.URLClassLoader blind = new java.net.URLClassLoader(new java.net.URL[0],
                ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> CompactFunctions.decode(bytes, blind))
                    .as("the class the first loader found is not this loader's")
                    .isInstanceOf(JavaSerialization.MissingClassException.class)
                    .hasMessageContaining(CompactFunctionsTest.class.getName());
        }
        assertThat(run(CompactFunctions.decode(bytes, LOADER))).containsExactly(10);
    }
}
