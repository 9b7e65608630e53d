package io.quiver.bench.raw;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's own limit for a broadcast, beside {@code PreScatterBenchmark.broadcast}: the
 * same 256 MiB from a heap array, client -> JVM 1 -> JVM 2 over loopback, as plain blocking NIO
 * ({@link RawRelay}: a length, the bytes in 1 MiB reads into a direct buffer, forwarded as they
 * come, one acknowledgement byte back), without Quiver's framing, checksums, block store or
 * scheduler. A shot is one transfer until the last hop has every byte; delivered throughput is
 * 2 x 256 MiB / time, as for the broadcast to 2 executors.
 *
 * <pre>java -jar jmh-benchmarks/target/benchmarks.jar RawPipelineBenchmark</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5)
@Measurement(iterations = 20)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g"})
public class RawPipelineBenchmark {
    @Param("256")
    int sizeMb;

    final List<Process> hops = new ArrayList<>();
    SocketChannel first;
    byte[] data;
    ByteBuffer header;
    ByteBuffer ack;

    @Setup(Level.Trial)
    public void start() throws IOException {
        int sink = launch(); // JVM 2: the end of the chain
        int relay = launch(String.valueOf(sink)); // JVM 1: passes every byte on to JVM 2
        first = SocketChannel.open(new InetSocketAddress("127.0.0.1", relay));
        first.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        data = new byte[sizeMb << 20];
        java.util.Arrays.fill(data, (byte) 7);
        header = ByteBuffer.allocate(8);
        ack = ByteBuffer.allocate(1);
    }

    private int launch(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), RawRelay.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        hops.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        if (line == null || !line.startsWith("PORT ")) {
            throw new IOException("relay did not start: " + line);
        }
        return Integer.parseInt(line.substring(5));
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException, InterruptedException {
        if (first != null) {
            first.close();
        }
        for (Process p : hops) {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }

    /** One 256 MiB transfer through both hops. */
    @Benchmark
    public byte transfer() throws IOException {
        header.clear();
        header.putLong(0, data.length);
        RawRelay.writeFully(first, header);
        ByteBuffer body = ByteBuffer.wrap(data);
        while (body.hasRemaining()) {
            // A heap buffer: the JDK copies it into a direct one per write, as Quiver's client copies
            // the array into pooled direct memory.
            body.limit(Math.min(data.length, body.position() + RawRelay.CHUNK));
            RawRelay.writeFully(first, body);
            body.limit(data.length);
        }
        ack.clear();
        if (!RawRelay.readFully(first, ack)) {
            throw new IOException("the relay closed before acknowledging");
        }
        return ack.get(0);
    }
}
