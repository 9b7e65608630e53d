package io.quiver.bench.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.quiver.KV;
import io.quiver.core.codec.DefaultCodec;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.fory.Fory;
import org.apache.fory.config.Language;
import org.objenesis.strategy.StdInstantiatorStrategy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Picks the codec for data values: an encode + decode round trip per operation.
 *
 * <p>(a) {@code double[]} of 1 and 64 MiB through DefaultCodec's bulk fast path, beside two floors
 * that copy out into a reused buffer and back into a fresh array: {@code System.arraycopy}, and
 * put/get through a direct {@code ByteBuffer}'s double view; Java serialization shows what the fast
 * path saves.
 *
 * <p>(b) "Other objects" (a 10,000-entry {@code List<KV<String, Long>>}, a 10,000-entry
 * {@code HashMap<String, Integer>}, a small record graph) through Quiver's {@code DefaultCodec} (its
 * FORY form: Fory with reference tracking, a class-version hash per object, Java serialization's
 * checks and a CRC32C, into a pooled ByteBuf), plain Java serialization (DefaultCodec's JAVA form,
 * into a pooled ByteBuf), Kryo 5 and Apache Fory, the last two with class registration off and
 * reference tracking at their default (off). Each codec writes to its idiomatic target: Kryo into
 * a reused {@code Output}, Fory into a fresh {@code byte[]}. Serialized sizes are printed once per
 * trial ("# size ...").
 *
 * <p>Run: {@code java -jar jmh-benchmarks/target/benchmarks.jar CodecBenchmark} (about 4 minutes).
 * No JVM flags are needed on Java 17 for these payloads; Kryo and Fory would need
 * {@code --add-opens} only to serialize JDK-internal classes such as {@code List.of(...)} by fields.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class CodecBenchmark {

    /** The element types of the record graph payload. */
    public record Address(String street, String city, String zip) implements Serializable {}

    public record LineItem(String sku, int quantity, double unitPrice) implements Serializable {}

    public record Order(long id, String customer, Address shipTo, List<LineItem> items, Map<String, String> tags)
            implements Serializable {}

    @State(Scope.Thread)
    public static class Arrays {
        @Param({"1", "64"})
        public int mebibytes;

        double[] values;
        double[] scratch;
        ByteBuffer direct;

        @Setup(Level.Trial)
        public void setUp() {
            values = new Random(42).doubles(mebibytes * 1024 * 1024 / 8).toArray();
            scratch = new double[values.length];
            direct = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    @State(Scope.Thread)
    public static class Objects {
        @Param({"kvList", "hashMap", "recordGraph"})
        public String payload;

        Object value;
        Kryo kryo;
        Output kryoOutput;
        Fory fory;

        @Setup(Level.Trial)
        public void setUp() {
            value = payload(payload);
            kryo = newKryo();
            kryoOutput = new Output(64 * 1024, -1);
            fory = newFory();
            // Sizes and a correctness check, once per trial.
            byte[] quiver = DefaultCodec.INSTANCE.toBytes(value);
            byte[] java = io.quiver.core.codec.JavaSerialization.serialize(value, "the value");
            kryoOutput.reset();
            kryo.writeClassAndObject(kryoOutput, value);
            byte[] kryoBytes = kryoOutput.toBytes();
            byte[] foryBytes = fory.serialize(value);
            check("default", DefaultCodec.INSTANCE.fromBytes(quiver, CodecBenchmark.class.getClassLoader()));
            check("java", io.quiver.core.codec.JavaSerialization.deserialize(java, CodecBenchmark.class.getClassLoader()));
            check("kryo", kryo.readClassAndObject(new Input(kryoBytes)));
            check("fory", fory.deserialize(foryBytes));
            System.out.printf("%n# size %s: DefaultCodec %,d B (tag %d), java %,d B, kryo %,d B, fory %,d B%n",
                    payload, quiver.length, quiver[0], java.length, kryoBytes.length, foryBytes.length);
        }

        private void check(String codec, Object decoded) {
            if (!value.equals(decoded)) {
                throw new IllegalStateException(codec + " did not round-trip " + payload);
            }
        }
    }

    // ---- (a) double[] ----

    @Benchmark
    public double[] doublesDefaultCodec(Arrays s) {
        ByteBuf buf = DefaultCodec.INSTANCE.encode(s.values, ByteBufAllocator.DEFAULT);
        try {
            return (double[]) DefaultCodec.INSTANCE.decode(buf, null);
        } finally {
            buf.release();
        }
    }

    /**
     * Floor: copy out into a reused array, copy back into a fresh one (decoding must allocate the
     * result; encoding need not, its buffer can be reused or pooled).
     */
    @Benchmark
    public double[] doublesBaselineArraycopy(Arrays s) {
        System.arraycopy(s.values, 0, s.scratch, 0, s.values.length);
        double[] back = new double[s.values.length];
        System.arraycopy(s.scratch, 0, back, 0, back.length);
        return back;
    }

    /** Floor for the codec's own technique without the allocator: a reused direct buffer's double view. */
    @Benchmark
    public double[] doublesBaselineNioView(Arrays s) {
        s.direct.clear();
        s.direct.asDoubleBuffer().put(s.values);
        double[] back = new double[s.values.length];
        s.direct.asDoubleBuffer().get(back);
        return back;
    }

    /** What the fast path saves: the same array through ObjectOutputStream. */
    @Benchmark
    public Object doublesJavaSerialization(Arrays s) {
        byte[] bytes = io.quiver.core.codec.JavaSerialization.serialize(s.values, "the value");
        return io.quiver.core.codec.JavaSerialization.deserialize(bytes, null);
    }

    // ---- (b) other objects ----

    /** Quiver's default for these values: FORY. */
    @Benchmark
    @Warmup(iterations = 8, time = 1) // the same as Java serialization
    public Object objectsDefaultCodec(Objects s) {
        ByteBuf buf = DefaultCodec.INSTANCE.encode(s.value, ByteBufAllocator.DEFAULT);
        try {
            return DefaultCodec.INSTANCE.decode(buf, CodecBenchmark.class.getClassLoader());
        } finally {
            buf.release();
        }
    }

    /** DefaultCodec's JAVA form, its fallback, as it writes and reads it. */
    @Benchmark
    @Warmup(iterations = 8, time = 1) // ObjectInputStream takes about 7 s of C2 to settle
    public Object objectsJavaSerialization(Objects s) throws IOException {
        ByteBuf buf = ByteBufAllocator.DEFAULT.heapBuffer(256);
        try {
            try (ByteBufOutputStream out = new ByteBufOutputStream(buf)) {
                io.quiver.core.codec.JavaSerialization.writeTo(s.value, out);
            }
            try (ByteBufInputStream in = new ByteBufInputStream(buf)) {
                return io.quiver.core.codec.JavaSerialization.readFrom(
                        in, CodecBenchmark.class.getClassLoader(), buf.readableBytes());
            }
        } finally {
            buf.release();
        }
    }

    @Benchmark
    @Warmup(iterations = 8, time = 1) // the same as Java serialization
    public Object objectsKryo(Objects s) {
        Output out = s.kryoOutput;
        out.reset();
        s.kryo.writeClassAndObject(out, s.value);
        return s.kryo.readClassAndObject(new Input(out.getBuffer(), 0, out.position()));
    }

    @Benchmark
    @Warmup(iterations = 8, time = 1) // the same as Java serialization
    public Object objectsFory(Objects s) {
        return s.fory.deserialize(s.fory.serialize(s.value));
    }

    // ---- payloads and codec set-up ----

    static Object payload(String name) {
        switch (name) {
            case "kvList": {
                List<KV<String, Long>> pairs = new ArrayList<>(10_000);
                for (int i = 0; i < 10_000; i++) {
                    pairs.add(KV.of("key-" + i, i * 7_919L));
                }
                return pairs;
            }
            case "hashMap": {
                Map<String, Integer> counts = new HashMap<>();
                for (int i = 0; i < 10_000; i++) {
                    counts.put("word-" + i, i);
                }
                return counts;
            }
            case "recordGraph": {
                List<LineItem> items = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    items.add(new LineItem("SKU-" + (1000 + i), i + 1, 9.99 * (i + 1)));
                }
                Map<String, String> tags = new HashMap<>(Map.of("channel", "web", "priority", "high"));
                return new Order(123_456_789L, "Ada Lovelace", new Address("12 Analytical St", "London", "N1 9GU"),
                        items, tags);
            }
            default:
                throw new IllegalArgumentException("unknown payload " + name + "; use kvList, hashMap or recordGraph");
        }
    }

    /** Kryo 5 as an engine would configure it for arbitrary user classes: no registration. */
    static Kryo newKryo() {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(false);
        // Classes without a no-arg constructor are created through Objenesis (records use their constructor).
        kryo.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
        return kryo;
    }

    static Fory newFory() {
        return Fory.builder().withLanguage(Language.JAVA).requireClassRegistration(false).build();
    }
}
