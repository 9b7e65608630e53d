package io.quiver.bench.code;

import io.quiver.ConnectOptions;
import io.quiver.Quiver;
import io.quiver.core.client.QuiverClient;
import io.quiver.local.LocalCluster;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What shipping code costs (API.md, section 6): connecting with a 20 MiB jar set to 2 executors in
 * separate JVMs that lack it ({@link #firstUse}, a fresh set each time), connecting again with a set
 * they cached ({@link #reconnect}), and, as the baseline, connecting with nothing to ship. The
 * {@code bytesShipped} counter is what the client sent per connect.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar CodeShippingBenchmark -f 1 -wi 1 -i 5</pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(1)
@State(Scope.Benchmark)
public class CodeShippingBenchmark {
    static final int JARS = 4;
    static final int JAR_BYTES = 5 << 20;

    LocalCluster cluster;
    Path dir;
    List<Path> cachedSet;
    List<Path> freshSet;
    int sets;

    /** Bytes the client sent per connect. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Shipped {
        public long bytesShipped;
    }

    @Setup(Level.Trial)
    public void start() throws IOException {
        dir = Files.createTempDirectory("quiver-bench-jars-");
        cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(1).separateProcesses(true)
                .shipClassPath(true).executorMemory(64L << 20));
        cachedSet = jarSet("cached");
        try (Quiver q = connect(cachedSet)) {
            // shipped once: reconnect finds it cached
        }
    }

    @Setup(Level.Invocation)
    public void freshJars() throws IOException {
        freshSet = jarSet("fresh-" + sets++);
    }

    @TearDown(Level.Invocation)
    public void dropFreshJars() throws IOException {
        for (Path p : freshSet) {
            Files.deleteIfExists(p);
        }
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        cluster.close();
        try (var files = Files.list(dir)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    @Benchmark
    public long firstUse(Shipped shipped) {
        return connectAndClose(freshSet, shipped);
    }

    @Benchmark
    public long reconnect(Shipped shipped) {
        return connectAndClose(cachedSet, shipped);
    }

    @Benchmark
    public long baselineNothingToShip(Shipped shipped) {
        return connectAndClose(List.of(), shipped);
    }

    private long connectAndClose(List<Path> jars, Shipped shipped) {
        try (Quiver q = connect(jars)) {
            long bytes = ((QuiverClient) q).codeBytesShipped();
            shipped.bytesShipped += bytes;
            return bytes;
        }
    }

    private Quiver connect(List<Path> jars) {
        return Quiver.connect(cluster.zkConnectString(), ConnectOptions.defaults().shipClassPath(false).jars(jars));
    }

    /** {@value #JARS} jars of {@value #JAR_BYTES} random bytes each (stored: nothing compresses them). */
    private List<Path> jarSet(String name) throws IOException {
        Random random = new Random(name.hashCode());
        List<Path> out = new ArrayList<>();
        byte[] bytes = new byte[JAR_BYTES];
        for (int j = 0; j < JARS; j++) {
            random.nextBytes(bytes);
            CRC32 crc = new CRC32();
            crc.update(bytes);
            Path jar = dir.resolve(name + "-" + j + ".jar");
            try (OutputStream file = Files.newOutputStream(jar); ZipOutputStream zip = new ZipOutputStream(file)) {
                ZipEntry e = new ZipEntry("data/blob-" + j + ".bin");
                e.setMethod(ZipEntry.STORED);
                e.setSize(bytes.length);
                e.setCompressedSize(bytes.length);
                e.setCrc(crc.getValue());
                zip.putNextEntry(e);
                zip.write(bytes);
                zip.closeEntry();
            }
            out.add(jar);
        }
        return out;
    }
}
