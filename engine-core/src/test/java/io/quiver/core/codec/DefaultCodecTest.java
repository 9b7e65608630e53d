package io.quiver.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.List;
import java.util.Map;
import java.util.Random;
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
class DefaultCodecTest {
    private static final DefaultCodec CODEC = DefaultCodec.INSTANCE;
    private static final ClassLoader LOADER = DefaultCodecTest.class.getClassLoader();

    record Point(double x, double y, String label) implements Serializable {}

    record Shape(String name, List<Point> points, Map<String, double[]> attributes) implements Serializable {}

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
    static Stream<Arguments> javaSerializedValues() {
        List<KV<String, Long>> pairs = new ArrayList<>();
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 1_000; i++) {
            pairs.add(KV.of("key-" + i, (long) i * i));
            counts.put("word-" + i, i);
        }
        pairs.add(KV.of(null, null));
        return Stream.<Object>of(
                new Point(1.5, -2.0, "a"),
                new Shape("triangle", List.of(new Point(0, 0, "o"), new Point(1, 0, null)),
                        Map.of("weights", new double[] {0.25, -1e300})),
                pairs,
                counts,
                List.of(1, "two", 3.0),
                new boolean[] {true, false, true},
                new String[] {"a", null, "c"},
                new int[][] {{1, 2}, {}, {3}},
                'c',
                (byte) 7,
                (short) -3,
                new java.math.BigDecimal("12345.6789"))
                .map(value -> Arguments.of((Object) value));
    }

    @ParameterizedTest
    @MethodSource("javaSerializedValues")
    void otherValuesRoundTripThroughJavaSerialization(Object value) {
        ByteBuf buf = CODEC.encode(value, ByteBufAllocator.DEFAULT);
        try {
            assertThat(buf.getByte(0)).isEqualTo(DefaultCodec.JAVA);
            Object decoded = CODEC.decode(buf, LOADER);
            assertThat(decoded).usingRecursiveComparison().isEqualTo(value);
            assertThat(decoded).isInstanceOf(value.getClass());
        } finally {
            buf.release();
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
        byte[] javaList = CODEC.toBytes(new ArrayList<>(List.of("a", "b", "c")));
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
                Arguments.of("java int[] claiming -1 elements", javaIntArrayClaiming(-1), "corrupt"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corruptInputs")
    void corruptInputRaisesQuiverExceptionWithoutAllocatingWhatItClaims(String name, byte[] input, String message) {
        assertThatThrownBy(() -> CODEC.fromBytes(input, LOADER))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining(message);
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
