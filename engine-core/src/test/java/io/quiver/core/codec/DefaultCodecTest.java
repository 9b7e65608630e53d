package io.quiver.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import io.quiver.KV;
import io.quiver.NotSerializableException;
import io.quiver.QuiverException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Round trips through every fast path and the Java-serialization fallback, buffer ownership, and
 * corrupt input, which must fail with a {@link QuiverException} and never allocate what it claims.
 */
public class DefaultCodecTest {
    private static final DefaultCodec CODEC = DefaultCodec.INSTANCE;
    private static final ClassLoader LOADER = DefaultCodecTest.class.getClassLoader();

    public record Point(double x, double y, String label) implements Serializable {}

    public record Shape(String name, List<Point> points, Map<String, double[]> attributes) implements Serializable {}

    public record Group(String name, TreeMap<String, List<Long>> byKey, LinkedHashSet<String> tags) implements Serializable {}

    public record Holder(Object value) implements Serializable {}

    /** Not public: Fory 0.13 could not read it back on an executor whose loader Fory cannot see into. */
    record Hidden(int x) implements Serializable {}

    public record Exposing(Hidden hidden) implements Serializable {}

    public record ExposingInAList(List<Hidden> hidden) implements Serializable {}

    public enum Color {
        RED,
        GREEN {
            @Override
            public String toString() {
                return "green";
            }
        }
    }

    public static final class StaticNested implements Serializable {
        private final String s;
        private final int n;

        StaticNested(String s, int n) {
            this.s = s;
            this.n = n;
        }
    }

    public static final class WithTransient implements Serializable {
        final String kept;
        transient String cache = "cached";
        transient Object notSerializable = new Object();

        WithTransient(String kept) {
            this.kept = kept;
        }
    }

    public static final class Node implements Serializable {
        final String name;
        Node next;
        Node self;

        Node(String name) {
            this.name = name;
        }
    }

    static final class NotSerializableThing {}

    static class PlainBase {
        int baseField = 5;
    }

    /** Java serialization does not carry PlainBase's field; it runs PlainBase's constructor instead. */
    static final class WithPlainBase extends PlainBase implements Serializable {
        int ownField;
    }

    /** A user collection with a field of its own. */
    static final class Bag extends ArrayList<String> {
        final String label;

        Bag(String label) {
            this.label = label;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bag b && super.equals(b) && label.equals(b.label);
        }

        @Override
        public int hashCode() {
            return super.hashCode() * 31 + label.hashCode();
        }
    }

    static final class Outer implements Serializable {
        final int base;

        Outer(int base) {
            this.base = base;
        }

        /** An inner class: carries Outer.this, as Java serialization does. */
        final class Inner implements Serializable {
            final int value;

            Inner(int value) {
                this.value = value;
            }

            @Override
            public boolean equals(Object o) {
                return o instanceof Inner i && i.value == value && i.outer().base == base;
            }

            @Override
            public int hashCode() {
                return value;
            }

            Outer outer() {
                return Outer.this;
            }
        }
    }

    static Stream<ByteBufAllocator> allocators() {
        return Stream.of(ByteBufAllocator.DEFAULT, PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT);
    }

    static Stream<Arguments> primitiveArrays() {
        return Stream.of(
                Arguments.of(new byte[0]),
                Arguments.of(new byte[] {0, 1, -1, Byte.MIN_VALUE, Byte.MAX_VALUE}),
                Arguments.of(new int[0]),
                Arguments.of(new int[] {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE}),
                Arguments.of(new long[0]),
                Arguments.of(new long[] {0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 0x0102030405060708L}),
                Arguments.of(new double[0]),
                Arguments.of(new double[] {
                    0.0, -0.0, -1.5, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                    Double.MIN_VALUE, Double.MAX_VALUE, -Double.MAX_VALUE
                }),
                Arguments.of(new float[0]),
                Arguments.of(new float[] {0f, -0f, -2.25f, Float.NaN, Float.NEGATIVE_INFINITY, Float.MIN_VALUE}),
                Arguments.of(new short[0]),
                Arguments.of(new short[] {0, -1, Short.MIN_VALUE, Short.MAX_VALUE}),
                Arguments.of(new char[0]),
                Arguments.of(new char[] {'a', 'é', '東', '\uD83C', '\uDF89', Character.MIN_VALUE, Character.MAX_VALUE}));
    }

    @ParameterizedTest
    @MethodSource("primitiveArrays")
    void primitiveArraysRoundTripAsCompactFastPaths(Object array) {
        ByteBuf buf = CODEC.encode(array, ByteBufAllocator.DEFAULT);
        try {
            int width = elementWidth(array);
            assertThat(buf.getByte(0)).isNotEqualTo(DefaultCodec.JAVA);
            assertThat(buf.readableBytes()).isEqualTo(5 + width * java.lang.reflect.Array.getLength(array));
            assertThat(CODEC.decode(buf, LOADER)).isInstanceOf(array.getClass()).isEqualTo(array);
            assertThat(buf.readableBytes()).as("decode consumes the value").isZero();
        } finally {
            buf.release();
        }
    }

    @ParameterizedTest
    @MethodSource("allocators")
    void largeDoubleArrayGoesToDirectMemoryAndRoundTrips(ByteBufAllocator alloc) {
        double[] values = new Random(42).doubles(3 * 1024 * 1024 / 8).map(d -> d * 2e9 - 1e9).toArray();
        values[0] = Double.NaN;
        values[values.length - 1] = -0.0;

        ByteBuf buf = CODEC.encode(values, alloc);
        try {
            assertThat(buf.readableBytes()).isEqualTo(5 + 8 * values.length);
            assertThat(buf.isDirect()).as("arrays of 1 MiB or more are encoded into direct memory").isTrue();
            assertThat((double[]) CODEC.decode(buf, LOADER)).isEqualTo(values);
        } finally {
            buf.release();
        }
        assertThat(buf.refCnt()).isZero();
    }

    @Test
    void arraysOfAMiBOrMoreAreDirectAndSmallerOnesHeap() {
        ByteBuf large = CODEC.encode(new long[128 * 1024], UnpooledByteBufAllocator.DEFAULT);
        ByteBuf small = CODEC.encode(new long[1024], UnpooledByteBufAllocator.DEFAULT);
        try {
            assertThat(large.isDirect()).isTrue();
            assertThat(small.isDirect()).isFalse();
        } finally {
            large.release();
            small.release();
        }
    }

    @ParameterizedTest
    @MethodSource("allocators")
    void everyLargeArrayTypeRoundTripsWithEveryAllocator(ByteBufAllocator alloc) {
        int n = 300_000; // at least 1 MiB for every width but byte and char/short
        Random random = new Random(7);
        byte[] bytes = new byte[4 * n];
        random.nextBytes(bytes);
        List<Object> arrays = List.of(
                bytes,
                random.ints(n).toArray(),
                random.longs(n).toArray(),
                random.doubles(n).toArray(),
                toFloats(random.doubles(n).toArray()),
                toShorts(random.ints(2 * n).toArray()),
                toChars(random.ints(2 * n).toArray()));
        for (Object array : arrays) {
            assertThat(roundTrip(array, alloc)).isEqualTo(array);
        }
    }

    @Test
    void doubleArrayKeepsNaNPayloadBits() {
        double quietNaNWithPayload = Double.longBitsToDouble(0x7ff8_0000_0000_1234L);
        double[] decoded = (double[]) roundTrip(new double[] {quietNaNWithPayload}, ByteBufAllocator.DEFAULT);
        assertThat(Double.doubleToRawLongBits(decoded[0])).isEqualTo(0x7ff8_0000_0000_1234L);
    }

    @Test
    void arrayWireFormatIsTagBigEndianLengthThenLittleEndianElements() {
        byte[] encoded = CODEC.toBytes(new int[] {1, -2});
        assertThat(encoded).containsExactly(
                DefaultCodec.INTS, 0, 0, 0, 2, 1, 0, 0, 0, (byte) 0xFE, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF);
    }

    @Test
    void nullRoundTripsAsOneByte() {
        assertThat(CODEC.toBytes(null)).containsExactly(DefaultCodec.NULL);
        assertThat(CODEC.fromBytes(new byte[] {DefaultCodec.NULL}, LOADER)).isNull();
    }

    static Stream<Object> scalars() {
        return Stream.of(
                0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE,
                0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE,
                0.0, -0.0, Double.NaN, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, -123.456,
                0f, -0f, Float.NaN, Float.MAX_VALUE,
                true, false,
                "", "plain ascii", "grüße, 東京, Ωμέγα, emoji 🎉🚀", "\u0000 nul and \uFFFF",
                "x".repeat(70_000));
    }

    @ParameterizedTest
    @MethodSource("scalars")
    void boxedScalarsAndStringsRoundTripWithTheirTypeAndWithoutJavaSerialization(Object value) {
        ByteBuf buf = CODEC.encode(value, ByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.getByte(0)).isNotEqualTo(DefaultCodec.JAVA);
            Object decoded = CODEC.decode(buf, LOADER);
            assertThat(decoded).isInstanceOf(value.getClass()).isEqualTo(value);
        } finally {
            buf.release();
        }
    }

    @Test
    void scalarsHaveFixedCompactSizes() {
        assertThat(CODEC.toBytes(7)).hasSize(5);
        assertThat(CODEC.toBytes(7L)).hasSize(9);
        assertThat(CODEC.toBytes(7.0)).hasSize(9);
        assertThat(CODEC.toBytes(7f)).hasSize(5);
        assertThat(CODEC.toBytes(true)).hasSize(2);
        assertThat(CODEC.toBytes("東京")).hasSize(5 + 6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"\uD800", "lone high \uD83C at the end \uD83C", "lone low \uDF89 in the middle", "\uDF89\uD83C"})
    void stringsWithLoneSurrogatesRoundTripUnchanged(String value) {
        assertThat(roundTrip(value, ByteBufAllocator.DEFAULT)).isEqualTo(value);
    }

    @Test
    void stringsOfAMillionCharsOrMoreRoundTrip() {
        String value = "ab€".repeat(400_000);
        assertThat(roundTrip(value, ByteBufAllocator.DEFAULT)).isEqualTo(value);
    }

    /** Each value is one argument, also the arrays, which JUnit would otherwise spread. */
    static Stream<Arguments> foryValues() {
        List<KV<String, Long>> pairs = new ArrayList<>();
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 1_000; i++) {
            pairs.add(KV.of("key-" + i, (long) i * i));
            counts.put("word-" + i, i);
        }
        pairs.add(KV.of(null, null));
        Map<String, Object> nullsInside = new HashMap<>();
        nullsInside.put(null, "null key");
        nullsInside.put("null value", null);
        nullsInside.put("list with nulls", new ArrayList<>(Arrays.asList("a", null, "c")));
        return Stream.<Object>of(
                new Point(1.5, -2.0, "a"),
                new Point(0, 0, null),
                new Shape("triangle", List.of(new Point(0, 0, "o"), new Point(1, 0, null)),
                        Map.of("weights", new double[] {0.25, -1e300})),
                pairs,
                counts,
                nullsInside,
                KV.of("k", List.of(KV.of(1, new Point(1, 1, "nested")))),
                new Group("g", new TreeMap<>(Map.of("b", List.of(1L, 2L), "a", List.of())), new LinkedHashSet<>(List.of("z", "y"))),
                List.of(1, "two", 3.0),
                Arrays.asList(null, null),
                new boolean[] {true, false, true},
                new String[] {"a", null, "c"},
                new Point[] {new Point(1, 2, "p"), null},
                new int[][] {{1, 2}, {}, {3}},
                new Object[] {1, "s", new long[] {1, 2}, null},
                'c',
                (byte) 7,
                (short) -3,
                new java.math.BigDecimal("12345.6789"),
                Color.GREEN,
                java.time.LocalDate.of(2024, 2, 29),
                java.util.UUID.fromString("123e4567-e89b-12d3-a456-426614174000"),
                new StaticNested("n", 3))
                .map(value -> Arguments.of((Object) value));
    }

    @ParameterizedTest
    @MethodSource("foryValues")
    void otherSerializableValuesRoundTripThroughFory(Object value) {
        ByteBuf buf = CODEC.encode(value, ByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.getByte(0)).isEqualTo(DefaultCodec.FORY);
            Object decoded = CODEC.decode(buf, LOADER);
            assertThat(decoded).usingRecursiveComparison().isEqualTo(value);
            assertThat(decoded).isInstanceOf(value.getClass());
            assertThat(buf.readableBytes()).as("decode consumes the value").isZero();
        } finally {
            buf.release();
        }
    }

    @Test
    void foryIsSmallerThanJavaSerializationForACollectionOfRecords() {
        List<KV<String, Long>> pairs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            pairs.add(KV.of("key-" + i, i * 7_919L));
        }
        byte[] fory = CODEC.toBytes(pairs);
        assertThat(fory[0]).isEqualTo(DefaultCodec.FORY);
        assertThat(fory.length).isLessThan(JavaSerialization.serialize(pairs, "pairs").length * 3 / 4);
        assertThat(CODEC.fromBytes(fory, LOADER)).isEqualTo(pairs);
    }

    @Test
    void transientFieldsAreNotCarriedAsInJavaSerialization() {
        WithTransient decoded = (WithTransient) roundTrip(new WithTransient("kept"), ByteBufAllocator.DEFAULT);
        assertThat(decoded.kept).isEqualTo("kept");
        assertThat(decoded.cache).isNull();
        assertThat(decoded.notSerializable).isNull();
    }

    @Test
    void cyclicAndSharedObjectsKeepTheirIdentity() {
        Node a = new Node("a");
        Node b = new Node("b");
        a.next = b;
        b.next = a;
        a.self = a;
        ByteBuf buf = CODEC.encode(a, ByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.getByte(0)).isEqualTo(DefaultCodec.FORY);
            Node back = (Node) CODEC.decode(buf, LOADER);
            assertThat(back.name).isEqualTo("a");
            assertThat(back.next.name).isEqualTo("b");
            assertThat(back.next.next).isSameAs(back);
            assertThat(back.self).isSameAs(back);
        } finally {
            buf.release();
        }

        Point shared = new Point(1, 2, "shared");
        List<Object> twice = new ArrayList<>(List.of(shared, shared, new Object[] {shared}));
        twice.add(twice); // a list that contains itself
        @SuppressWarnings("unchecked")
        List<Object> back = (List<Object>) roundTrip(twice, ByteBufAllocator.DEFAULT);
        assertThat(back.get(0)).isEqualTo(shared).isSameAs(back.get(1)).isSameAs(((Object[]) back.get(2))[0]);
        assertThat(back.get(3)).isSameAs(back);
    }

    @Test
    void deeplyNestedValuesThatFitTheStackRoundTrip() {
        Node head = new Node("0");
        Node cur = head;
        for (int i = 1; i < 1_000; i++) {
            cur.next = new Node(String.valueOf(i));
            cur = cur.next;
        }
        byte[] encoded = CODEC.toBytes(head);
        assertThat(encoded[0]).as("Fory's default read depth limit of 50 is lifted").isEqualTo(DefaultCodec.FORY);
        Node back = (Node) CODEC.fromBytes(encoded, LOADER);
        int n = 0;
        for (Node x = back; x != null; x = x.next) {
            assertThat(x.name).isEqualTo(String.valueOf(n++));
        }
        assertThat(n).isEqualTo(1_000);
    }

    @Test
    void serializableLambdaInsideAValueRoundTrips() {
        io.quiver.Fn1<Integer, Integer> plusOne = x -> x + 1;
        @SuppressWarnings("unchecked")
        KV<String, io.quiver.Fn1<Integer, Integer>> back =
                (KV<String, io.quiver.Fn1<Integer, Integer>>) roundTrip(KV.of("f", plusOne), ByteBufAllocator.DEFAULT);
        assertThat(back.key()).isEqualTo("f");
        assertThat(catching(() -> back.value().apply(41))).isEqualTo(42);
    }

    /** Values that Fory would encode differently from Java serialization, or refuses: Java serialization takes them. */
    static Stream<Arguments> javaSerializedValues() {
        Outer outer = new Outer(1);
        Bag bag = new Bag("label");
        bag.add("x");
        return Stream.<Object>of(
                outer.new Inner(5),
                List.of(outer.new Inner(6)),
                new Serializable() {
                    final int z = 7;

                    @Override
                    public boolean equals(Object o) {
                        return o != null && o.getClass() == getClass();
                    }

                    @Override
                    public int hashCode() {
                        return z;
                    }
                },
                bag,
                KV.of("in a KV", bag),
                new javax.management.ImmutableDescriptor("name=value"), // on Fory's disallowed list
                List.of(new javax.management.ImmutableDescriptor("a=1")),
                new Hidden(1),
                List.of(new Hidden(2)),
                new Exposing(new Hidden(3)),
                new Exposing(null),
                new ExposingInAList(List.of(new Hidden(4))))
                .map(value -> Arguments.of((Object) value));
    }

    @ParameterizedTest
    @MethodSource("javaSerializedValues")
    void valuesForyCannotEncodeAsJavaWouldFallBackToJavaSerialization(Object value) {
        ByteBuf buf = CODEC.encode(value, ByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.getByte(0)).isEqualTo(DefaultCodec.JAVA);
            Object decoded = CODEC.decode(buf, LOADER);
            assertThat(decoded).isInstanceOf(value.getClass()).isEqualTo(value);
        } finally {
            buf.release();
        }
    }

    @Test
    void aNonSerializableSuperclassIsNotCarriedAsInJavaSerialization() {
        WithPlainBase value = new WithPlainBase();
        value.baseField = 99;
        value.ownField = 7;
        byte[] encoded = CODEC.toBytes(value);
        assertThat(encoded[0]).isEqualTo(DefaultCodec.JAVA);
        WithPlainBase back = (WithPlainBase) CODEC.fromBytes(encoded, LOADER);
        assertThat(back.baseField).as("reset by PlainBase's constructor").isEqualTo(5);
        assertThat(back.ownField).isEqualTo(7);
    }

    @Test
    void aUserCollectionKeepsItsFields() {
        Bag bag = new Bag("label");
        bag.add("x");
        Bag back = (Bag) roundTrip(bag, ByteBufAllocator.DEFAULT);
        assertThat(back).containsExactly("x");
        assertThat(back.label).isEqualTo("label");
    }

    // ---- Java serialization's rules ----

    @Test
    void aNonSerializableValueFailsWithJavaSerializationsDiagnosis() {
        NotSerializableThing value = new NotSerializableThing();
        String javaMessage = catchThrowableOfType(
                () -> JavaSerialization.writeTo(value, new ByteArrayOutputStream()), NotSerializableException.class)
                .getMessage();
        assertThatThrownBy(() -> CODEC.encode(value, ByteBufAllocator.DEFAULT))
                .isInstanceOf(NotSerializableException.class)
                .hasMessage(javaMessage)
                .hasMessageContaining(NotSerializableThing.class.getName())
                .satisfies(e -> assertThat(((NotSerializableException) e).offendingClass())
                        .isEqualTo(NotSerializableThing.class.getName()));
    }

    static Stream<Arguments> nestedNotSerializable() {
        return Stream.of(
                Arguments.of(new Holder(new NotSerializableThing()), NotSerializableThing.class.getName(), "field Holder.value"),
                Arguments.of(List.of(new Point(0, 0, "ok"), new NotSerializableThing()), NotSerializableThing.class.getName(), "element"),
                Arguments.of(Map.of("k", new NotSerializableThing()), NotSerializableThing.class.getName(), "value of k"),
                Arguments.of(new Holder(new Object()), "java.lang.Object", "field Holder.value"),
                Arguments.of(new Holder(Optional.of("x")), "java.util.Optional", "field Holder.value"),
                Arguments.of(KV.of("k", OptionalInt.of(1)), "java.util.OptionalInt", "field KV.value"),
                Arguments.of(new Holder(new ArrayList<>(List.of(1, 2, 3)).subList(0, 2)), "java.util.ArrayList$SubList", "field Holder.value"),
                Arguments.of(new Holder(List.of(1, 2, 3).subList(0, 2)), "java.util.ImmutableCollections$SubList", "field Holder.value"),
                Arguments.of(new Holder(new HashMap<>(Map.of("a", 1)).keySet()), "java.util.HashMap$KeySet", "field Holder.value"),
                Arguments.of(new Holder(java.nio.ByteBuffer.allocate(4)), "java.nio.HeapByteBuffer", "field Holder.value"),
                Arguments.of(new Holder(new WithPlainBase[] {null, new WithPlainBase()}), "", "field Holder.value"),
                Arguments.of(new Object[] {"a", new NotSerializableThing()}, NotSerializableThing.class.getName(), "[1]"));
    }

    @ParameterizedTest
    @MethodSource("nestedNotSerializable")
    void aNonSerializableObjectInsideAValueFailsAsInJavaSerialization(Object value, String offending, String path) {
        if (offending.isEmpty()) { // the control: Serializable all the way down, Java takes it
            assertThat(roundTrip(value, ByteBufAllocator.DEFAULT)).isInstanceOf(value.getClass());
            return;
        }
        RecordingAllocator alloc = new RecordingAllocator();
        assertThatThrownBy(() -> CODEC.encode(value, alloc))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("class " + offending + " is not Serializable")
                .hasMessageContaining(path);
        assertThat(alloc.allocated).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
    }

    @Test
    void aNonSerializableLambdaInsideAValueFailsAsInJavaSerialization() {
        Runnable notSerializable = () -> {};
        assertThatThrownBy(() -> CODEC.encode(KV.of("f", notSerializable), ByteBufAllocator.DEFAULT))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("$$Lambda");
    }

    @Test
    void everyJdkClassForyPreRegistersIsSerializableOrRejected() throws ReflectiveOperationException {
        // Fory ships serializers for some JDK classes that Java serialization rejects; ForyValues must
        // list each, or Fory would accept them inside values. This reads Fory's registry reflectively:
        // if a Fory upgrade renames the field, find the new one rather than deleting the test.
        List<Class<?>> rejected = ForyValues.notSerializableBuiltIns(); // first: quiets Fory's logging
        org.apache.fory.Fory fory = org.apache.fory.Fory.builder()
                .withLanguage(org.apache.fory.config.Language.JAVA).requireClassRegistration(false).build();
        java.lang.reflect.Field field = org.apache.fory.resolver.TypeResolver.class.getDeclaredField("classInfoMap");
        field.setAccessible(true);
        List<Class<?>> registered = new ArrayList<>();
        ((org.apache.fory.collection.IdentityMap<Class<?>, ?>) field.get(fory.getClassResolver()))
                .forEach((type, info) -> registered.add(type));
        assertThat(registered).hasSizeGreaterThan(100);
        List<Class<?>> missing = registered.stream()
                .filter(c -> !c.isPrimitive() && !c.isArray() && !Serializable.class.isAssignableFrom(c))
                .filter(c -> c.getClassLoader() == null && c != Void.class)
                .filter(c -> !rejected.contains(c))
                .toList();
        assertThat(missing).as("JDK classes Fory serializes but Java serialization rejects").isEmpty();
    }

    // ---- class loading ----

    @Test
    void decodingResolvesClassesThroughTheGivenLoader() throws Exception {
        Shape value = new Shape("s", List.of(new Point(1, 2, "p")), Map.of());
        byte[] encoded = CODEC.toBytes(value);
        assertThat(encoded[0]).isEqualTo(DefaultCodec.FORY);
        try (URLClassLoader isolated = isolatedTestClassLoader()) {
            Object decoded = CODEC.fromBytes(encoded, isolated);
            assertThat(decoded.getClass().getName()).isEqualTo(Shape.class.getName());
            assertThat(decoded.getClass().getClassLoader()).isSameAs(isolated);
            assertThat(decoded.getClass()).isNotSameAs(Shape.class);
            assertThat(decoded.toString()).isEqualTo(value.toString());

            // and back: a value of the isolated class, inside a JDK list, is read with either loader
            byte[] again = CODEC.toBytes(new ArrayList<>(List.of(decoded)));
            assertThat(again[0]).isEqualTo(DefaultCodec.FORY);
            assertThat(((List<?>) CODEC.fromBytes(again, isolated)).get(0).getClass()).isSameAs(decoded.getClass());
            assertThat(CODEC.fromBytes(again, LOADER)).isEqualTo(List.of(value));
        }
    }

    @Test
    void aForyValueOfAClassTheLoaderCannotSeeRaisesMissingClassException() throws IOException {
        byte[] encoded = CODEC.toBytes(List.of(new Shape("s", List.of(), Map.of())));
        assertThat(encoded[0]).isEqualTo(DefaultCodec.FORY);
        try (URLClassLoader platformOnly = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> CODEC.fromBytes(encoded, platformOnly))
                    .isInstanceOf(JavaSerialization.MissingClassException.class)
                    .hasMessageContaining(Shape.class.getName())
                    .hasMessageContaining("--classpath");
        }
    }

    /**
     * Classes that only an executor's --classpath loader has (Fory's own loader cannot see them):
     * public ones take Fory and are read back through that loader, others take Java serialization.
     */
    @Test
    void userClassesOnlyAChildLoaderHasRoundTripThroughIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path src = java.nio.file.Files.createDirectories(dir.resolve("src/userjob"));
        java.nio.file.Files.writeString(src.resolve("Reading.java"), """
                package userjob;
                public record Reading(String sensor, double[] values, java.util.List<Reading> history)
                        implements java.io.Serializable {}
                """);
        java.nio.file.Files.writeString(src.resolve("Local.java"), """
                package userjob;
                record Local(String sensor) implements java.io.Serializable {}
                """);
        java.nio.file.Files.writeString(src.resolve("Values.java"), """
                package userjob;
                public final class Values {
                    public static Object reading() {
                        return new Reading("a", new double[] {1, 2}, java.util.List.of(new Reading("b", null, java.util.List.of())));
                    }
                    public static Object local() { return new Local("c"); }
                }
                """);
        java.nio.file.Path classes = java.nio.file.Files.createDirectories(dir.resolve("classes"));
        int javac = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(),
                src.resolve("Reading.java").toString(), src.resolve("Local.java").toString(), src.resolve("Values.java").toString());
        assertThat(javac).isZero();
        URL[] jar = {classes.toUri().toURL()};
        try (URLClassLoader client = new URLClassLoader("client", jar, LOADER);
                URLClassLoader executor = new URLClassLoader("executor", jar, LOADER)) {
            Class<?> values = client.loadClass("userjob.Values");
            for (String make : List.of("reading", "local")) {
                Object value = values.getMethod(make).invoke(null);
                for (Object v : List.of(value, new ArrayList<>(List.of(value)))) {
                    byte[] encoded = CODEC.toBytes(v);
                    assertThat(encoded[0]).as(make).isEqualTo(make.equals("reading") ? DefaultCodec.FORY : DefaultCodec.JAVA);
                    Object back = CODEC.fromBytes(encoded, executor);
                    Object element = back instanceof List<?> l ? l.get(0) : back;
                    assertThat(element.getClass().getClassLoader()).isSameAs(executor);
                    assertThat(element.toString().replaceAll("\\[D@\\p{XDigit}+", "[D"))
                            .isEqualTo(value.toString().replaceAll("\\[D@\\p{XDigit}+", "[D"));
                }
            }
        }
    }

    @Test
    void foryKeepsTheLogsClean() throws Exception {
        java.io.PrintStream out = System.out;
        java.io.PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (URLClassLoader isolated = isolatedTestClassLoader();
                java.io.PrintStream capture = new java.io.PrintStream(captured, true)) {
            System.setOut(capture);
            System.setErr(capture);
            // a fresh loader: Fory instances are built and a class is compiled, on two threads
            Thread other = new Thread(() -> CODEC.fromBytes(CODEC.toBytes(new Point(1, 2, "a")), isolated));
            other.start();
            other.join();
            CODEC.fromBytes(CODEC.toBytes(List.of(new Point(3, 4, "b"), new Outer(2).new Inner(1))), isolated);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertThat(captured.toString()).isEmpty();
    }

    @Test
    void manyThreadsShareTheCodec() throws Exception {
        List<Object> values = List.of(
                new Shape("t", List.of(new Point(0, 0, "o")), Map.of("w", new double[] {1})),
                new ArrayList<>(List.of(KV.of("a", 1L), KV.of("b", 2L))),
                new HashMap<>(Map.of("k", List.of(1, 2))),
                new Point(5, 6, "p"));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 500; i++) {
                        Object value = values.get(i % values.size());
                        assertThat(roundTrip(value, PooledByteBufAllocator.DEFAULT)).usingRecursiveComparison().isEqualTo(value);
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void decodesForyValuesFromDirectAndCompositeBuffers() {
        Shape value = new Shape("d", List.of(new Point(1, 2, "x"), new Point(3, 4, null)), Map.of("m", new double[] {5}));
        byte[] encoded = CODEC.toBytes(value);
        ByteBuf direct = Unpooled.directBuffer(encoded.length).writeBytes(encoded);
        ByteBuf composite = Unpooled.wrappedBuffer(
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 0, 3)),
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 3, 20)),
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 20, encoded.length)));
        ByteBuf offset = Unpooled.wrappedBuffer(new byte[7], encoded).skipBytes(7);
        try {
            for (ByteBuf buf : List.of(direct, composite, offset)) {
                assertThat(CODEC.decode(buf, LOADER)).usingRecursiveComparison().isEqualTo(value);
                assertThat(buf.readableBytes()).isZero();
            }
        } finally {
            direct.release();
            composite.release();
            offset.release();
        }
    }

    @Test
    void encodedBufferIsOwnedByTheCallerAndDecodeLeavesTheInputToIt() {
        for (Object value : List.of(new double[2_000_000], new int[] {1}, 42, "s", new Point(1, 2, "p"))) {
            ByteBuf buf = CODEC.encode(value, PooledByteBufAllocator.DEFAULT);
            assertThat(buf.refCnt()).isEqualTo(1);
            CODEC.decode(buf, LOADER);
            assertThat(buf.refCnt()).as("decode must not release its input").isEqualTo(1);
            assertThat(buf.release()).isTrue();
            assertThat(buf.refCnt()).isZero();
        }
    }

    @Test
    void failedEncodeReleasesTheBufferItAllocated() {
        RecordingAllocator alloc = new RecordingAllocator();
        Object unserializable = List.of(new Point(0, 0, "ok"), new Object());

        assertThatThrownBy(() -> CODEC.encode(unserializable, alloc))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("java.lang.Object");

        assertThat(alloc.allocated).isNotEmpty();
        assertThat(alloc.allocated).allSatisfy(buf -> assertThat(buf.refCnt()).isZero());
    }

    @Test
    void toBytesAndFromBytesRoundTrip() {
        assertThat(CODEC.fromBytes(CODEC.toBytes(new long[] {3, 1, 4}), LOADER)).isEqualTo(new long[] {3, 1, 4});
        assertThat(CODEC.fromBytes(CODEC.toBytes(new Point(3, 4, "p")), LOADER)).isEqualTo(new Point(3, 4, "p"));
    }

    @Test
    void decodesFromACompositeBufferAssembledFromChunks() {
        double[] values = IntStream.range(0, 100_000).asDoubleStream().toArray();
        byte[] encoded = CODEC.toBytes(values);
        ByteBuf composite = Unpooled.wrappedBuffer(
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 0, 3)),
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 3, 400_001)),
                Unpooled.wrappedBuffer(Arrays.copyOfRange(encoded, 400_001, encoded.length)));
        try {
            assertThat(CODEC.decode(composite, LOADER)).isEqualTo(values);
        } finally {
            composite.release();
        }
    }

    @Test
    void valueOfAClassTheLoaderCannotSeeRaisesMissingClassException() throws IOException {
        byte[] encoded = CODEC.toBytes(new Point(1, 2, "p"));
        try (URLClassLoader platformOnly = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> CODEC.fromBytes(encoded, platformOnly))
                    .isInstanceOf(JavaSerialization.MissingClassException.class)
                    .hasMessageContaining(Point.class.getName());
        }
    }

    // ---- corrupt input ----

    static Stream<Arguments> corruptInputs() {
        byte[] ints = CODEC.toBytes(new int[] {1, 2, 3, 4});
        byte[] javaList = JavaSerialization.serialize(new ArrayList<>(List.of("a", "b", "c")), "list");
        javaList = concat(new byte[] {DefaultCodec.JAVA}, javaList);
        byte[] fory = CODEC.toBytes(new Shape("s", List.of(new Point(1, 2, "p")), Map.of("a", new double[] {3})));
        byte[] foryList = foryPayload(CODEC.toBytes(new ArrayList<>(List.of("a", "b", "c"))));
        // Fory's layout of an ArrayList: flags, ref flag, class id, element count (varint), elements.
        assertThat(foryList[3]).as("element count of the Fory list; Fory's layout changed?").isEqualTo((byte) 3);
        byte[] listOfMaxInt = concat(Arrays.copyOf(foryList, 3), bytes(0xFF, 0xFF, 0xFF, 0xFF, 0x07),
                Arrays.copyOfRange(foryList, 4, foryList.length));
        byte[] flippedPayload = fory.clone();
        flippedPayload[fory.length / 2] ^= 0x10;
        byte[] flippedCrc = fory.clone();
        flippedCrc[6] ^= 1;
        return Stream.of(
                Arguments.of("empty", new byte[0], "truncated"),
                Arguments.of("unknown tag", new byte[] {42, 1, 2, 3}, "unknown codec tag 42"),
                Arguments.of("negative tag", new byte[] {-7}, "unknown codec tag -7"),
                Arguments.of("truncated array", Arrays.copyOf(ints, ints.length - 1), "only 15 bytes follow"),
                Arguments.of("array without length", new byte[] {DefaultCodec.DOUBLES, 0, 0}, "truncated"),
                Arguments.of("negative array length", bytes(DefaultCodec.DOUBLES, 0xFF, 0xFF, 0xFF, 0xFE), "array of -2"),
                Arguments.of("length -1", bytes(DefaultCodec.LONGS, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8), "array of -1"),
                Arguments.of("huge array length", bytes(DefaultCodec.BYTES, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2), "array of 2147483647"),
                Arguments.of("huge long length", bytes(DefaultCodec.LONGS, 0x10, 0, 0, 0, 1, 2, 3, 4), "array of 268435456"),
                Arguments.of("huge string length", bytes(DefaultCodec.STRING, 0x7F, 0, 0, 0, 'a'), "corrupt value"),
                Arguments.of("negative string length", bytes(DefaultCodec.STRING, 0x80, 0, 0, 0, 'a'), "corrupt value"),
                Arguments.of("truncated int", bytes(DefaultCodec.INTEGER, 1, 2), "truncated"),
                Arguments.of("truncated long", bytes(DefaultCodec.LONG, 1, 2, 3, 4, 5, 6, 7), "truncated"),
                Arguments.of("truncated double", bytes(DefaultCodec.DOUBLE), "truncated"),
                Arguments.of("truncated float", bytes(DefaultCodec.FLOAT, 1), "truncated"),
                Arguments.of("truncated boolean", bytes(DefaultCodec.BOOLEAN), "truncated"),
                Arguments.of("garbage after JAVA tag", bytes(DefaultCodec.JAVA, 1, 2, 3, 4, 5), "corrupt"),
                Arguments.of("nothing after JAVA tag", bytes(DefaultCodec.JAVA), "corrupt"),
                Arguments.of("truncated java object", Arrays.copyOf(javaList, javaList.length / 2), "corrupt"),
                Arguments.of("java int[] claiming 2^31-1 elements", javaIntArrayClaiming(Integer.MAX_VALUE), "corrupt"),
                Arguments.of("java int[] claiming 2^31-9 elements", javaIntArrayClaiming(Integer.MAX_VALUE - 8), "corrupt"),
                Arguments.of("java int[] claiming 1000 elements", javaIntArrayClaiming(1000), "corrupt"),
                Arguments.of("java int[] claiming -5 elements", javaIntArrayClaiming(-5), "corrupt"),
                Arguments.of("java int[] claiming -1 elements", javaIntArrayClaiming(-1), "corrupt"),
                Arguments.of("nothing after FORY tag", bytes(DefaultCodec.FORY), "truncated FORY header"),
                Arguments.of("FORY header without checksum", bytes(DefaultCodec.FORY, 0, 0, 0, 1, 7), "truncated FORY header"),
                Arguments.of("FORY length beyond the input", withForyLength(fory, 1 << 30), "FORY value of 1073741824 bytes but only"),
                Arguments.of("negative FORY length", withForyLength(fory, -3), "FORY value of -3 bytes"),
                Arguments.of("truncated FORY value", Arrays.copyOf(fory, fory.length - 1), "only " + (fory.length - 10) + " bytes follow"),
                Arguments.of("FORY payload with a flipped bit", flippedPayload, "checksum mismatch"),
                Arguments.of("FORY checksum with a flipped bit", flippedCrc, "checksum mismatch"),
                Arguments.of("garbage FORY payload, valid checksum", framedFory(bytes(2, 0, 99, 1, 2, 3, 4, 5, 6, 7)), "corrupt value"),
                Arguments.of("empty FORY payload, valid checksum", framedFory(new byte[0]), "corrupt value"),
                Arguments.of("FORY list claiming 2^31-1 elements, valid checksum", framedFory(listOfMaxInt), "corrupt value"),
                Arguments.of("FORY value with trailing bytes, valid checksum", framedFory(concat(foryPayload(fory), bytes(0, 0))),
                        "ended after"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptInputs")
    void corruptInputRaisesQuiverExceptionWithoutAllocatingWhatItClaims(String name, byte[] input, String message) {
        long before = allocatedBytes();
        assertThatThrownBy(() -> CODEC.fromBytes(input, LOADER))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining(message);
        assertThat(allocatedBytes() - before).as("bytes allocated while decoding").isLessThan(64L << 20);
    }

    /** Every damaged byte after the tag, and every truncation, of a FORY value is caught by its frame. */
    @Test
    void everySingleByteDamageToAForyValueIsDetected() {
        List<Object> values = List.of(
                new Shape("s", List.of(new Point(1, 2, "p"), new Point(3, 4, null)), Map.of("a", new double[] {3})),
                new ArrayList<>(List.of(KV.of("k", 1L), KV.of(null, null))),
                new HashMap<>(Map.of("x", new int[] {1, 2, 3}, "y", new long[] {4})));
        for (Object value : values) {
            byte[] encoded = CODEC.toBytes(value);
            assertThat(encoded[0]).isEqualTo(DefaultCodec.FORY);
            for (int i = 1; i < encoded.length; i++) {
                for (int delta : new int[] {1, 0x80, 0xFF}) {
                    byte[] damaged = encoded.clone();
                    damaged[i] = (byte) (damaged[i] + delta);
                    assertThatThrownBy(() -> CODEC.fromBytes(damaged, LOADER))
                            .as("byte %d + %d", i, delta)
                            .isInstanceOf(QuiverException.class)
                            .hasMessageContaining("corrupt value");
                }
                byte[] truncated = Arrays.copyOf(encoded, i);
                assertThatThrownBy(() -> CODEC.fromBytes(truncated, LOADER))
                        .isInstanceOf(QuiverException.class)
                        .hasMessageContaining("corrupt value");
            }
        }
    }

    @Test
    void theControlJavaIntArrayStreamIsValid() {
        assertThat(CODEC.fromBytes(javaIntArrayClaiming(3), LOADER)).isEqualTo(new int[] {7, 8, 9});
    }

    // ---- helpers ----

    private static Object roundTrip(Object value, ByteBufAllocator alloc) {
        ByteBuf buf = CODEC.encode(value, alloc);
        try {
            return CODEC.decode(buf, LOADER);
        } finally {
            buf.release();
        }
    }

    /** A JAVA-tagged ObjectOutputStream encoding of {@code int[]{7, 8, 9}} whose length field says {@code length}. */
    private static byte[] javaIntArrayClaiming(int length) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(DefaultCodec.JAVA);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new int[] {7, 8, 9});
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        byte[] encoded = bytes.toByteArray();
        int at = encoded.length - 3 * 4 - 4; // the length precedes the 12 bytes of elements
        encoded[at] = (byte) (length >>> 24);
        encoded[at + 1] = (byte) (length >>> 16);
        encoded[at + 2] = (byte) (length >>> 8);
        encoded[at + 3] = (byte) length;
        return encoded;
    }

    /** The Fory payload of a FORY-encoded value. */
    private static byte[] foryPayload(byte[] encoded) {
        assertThat(encoded[0]).isEqualTo(DefaultCodec.FORY);
        return Arrays.copyOfRange(encoded, ForyValues.HEADER, encoded.length);
    }

    /** {@code payload} in a FORY frame with the right length and checksum. */
    private static byte[] framedFory(byte[] payload) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(payload);
        ByteBuf buf = Unpooled.buffer().writeByte(DefaultCodec.FORY).writeInt(payload.length)
                .writeInt((int) crc.getValue()).writeBytes(payload);
        byte[] out = new byte[buf.readableBytes()];
        buf.readBytes(out);
        return out;
    }

    private static byte[] withForyLength(byte[] encoded, int length) {
        byte[] out = encoded.clone();
        Unpooled.wrappedBuffer(out).setInt(1, length);
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }

    /**
     * A loader that loads this test class and its nested classes again, apart from the test's own
     * loader, and everything else from it, as an executor's --classpath loader sits below Quiver's.
     * (Names Fory generates, such as DefaultCodecTest_PointForyRefCodec_0, must not come from the
     * parent either: a parent's serializer for its own copy of a class would be found by name.)
     */
    private static URLClassLoader isolatedTestClassLoader() {
        URL testClasses = DefaultCodecTest.class.getProtectionDomain().getCodeSource().getLocation();
        return new URLClassLoader("isolated-test-classes", new URL[] {testClasses}, LOADER) {
            @Override
            protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
                // this test, its nested classes, and the serializers Fory generates for them
                if (!name.startsWith(DefaultCodecTest.class.getName())) {
                    return super.loadClass(name, resolve);
                }
                synchronized (getClassLoadingLock(name)) {
                    Class<?> c = findLoadedClass(name);
                    if (c == null) {
                        c = findClass(name);
                    }
                    if (resolve) {
                        resolveClass(c);
                    }
                    return c;
                }
            }
        };
    }

    private static <T> T catching(java.util.concurrent.Callable<T> call) {
        try {
            return call.call();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    private static int elementWidth(Object array) {
        return switch (array.getClass().getComponentType().getName()) {
            case "byte" -> 1;
            case "short", "char" -> 2;
            case "int", "float" -> 4;
            default -> 8;
        };
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    private static short[] toShorts(int[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (short) values[i];
        }
        return out;
    }

    private static char[] toChars(int[] values) {
        char[] out = new char[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (char) values[i];
        }
        return out;
    }

    /** Unpooled buffers, remembering each one handed out so a test can check they were released. */
    private static final class RecordingAllocator extends AbstractByteBufAllocator {
        final List<ByteBuf> allocated = new ArrayList<>();

        RecordingAllocator() {
            super(false);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return record(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return record(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }

        private ByteBuf record(ByteBuf buf) {
            allocated.add(buf);
            return buf;
        }
    }
}
