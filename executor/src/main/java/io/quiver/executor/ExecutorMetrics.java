package io.quiver.executor;

import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.quiver.QuiverException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An executor's own {@code /metrics} port (Prometheus text format), published in its ZooKeeper
 * record. Every value is read at scrape time from thread-safe counters ({@code LongAdder}s and the
 * block store's synchronized getters); nothing here touches the slot loop. Each sample carries the
 * label {@code executor="<id>"}. Served by the JDK's HTTP server on one daemon thread.
 *
 * <p>Lifecycle: {@link #start()} once, {@link #close()} idempotent.
 */
final class ExecutorMetrics implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ExecutorMetrics.class);

    private final String id;
    private final String host;
    private final int requestedPort;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private HttpServer server;
    private ExecutorService thread;
    private boolean closed;

    ExecutorMetrics(String id, String host, int port) {
        this.id = id;
        this.host = host;
        this.requestedPort = port;
    }

    /** Adds a counter; {@code name} ends in {@code _total}. */
    ExecutorMetrics counter(String name, String help, DoubleSupplier value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("executor")
                .callback(cb -> cb.call(value.getAsDouble(), id)).register(registry);
        return this;
    }

    /** Adds a gauge. */
    ExecutorMetrics gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).labelNames("executor")
                .callback(cb -> cb.call(value.getAsDouble(), id)).register(registry);
        return this;
    }

    synchronized void start() {
        try {
            server = HttpServer.create(new InetSocketAddress(host, requestedPort), 8);
        } catch (IOException e) {
            throw new QuiverException("executor " + id + " cannot serve /metrics on " + host + ":" + requestedPort + ": "
                    + e + "; choose another --metrics-port (0 picks a free one)", e);
        }
        thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "quiver-" + id + "-metrics");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(thread);
        server.createContext("/", x -> {
            try (x) {
                if (!x.getRequestURI().getPath().equals("/metrics")) {
                    byte[] body = ("executor " + id + " serves only /metrics\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
                    x.sendResponseHeaders(404, body.length);
                    x.getResponseBody().write(body);
                    return;
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
                writer.write(out, registry.scrape());
                x.getResponseHeaders().set("Content-Type", writer.getContentType());
                x.sendResponseHeaders(200, out.size());
                try (OutputStream o = x.getResponseBody()) {
                    out.writeTo(o);
                }
            } catch (IOException | RuntimeException e) {
                log.debug("executor {}: a metrics request failed: {}", id, e.toString());
            }
        });
        server.start();
    }

    /** The bound port; valid once started. */
    synchronized int port() {
        return server == null ? 0 : server.getAddress().getPort();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (server != null) {
            server.stop(0);
        }
        if (thread != null) {
            thread.shutdownNow();
        }
    }
}
