package io.quiver.coordinator.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.quiver.QuiverException;
import io.quiver.coordinator.sched.ClusterSnapshot;
import io.quiver.core.json.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A coordinator's HTTP port: on the leader, the status page {@code /}, {@code /api/cluster} (JSON)
 * and {@code /metrics} (Prometheus text); on a standby, a redirect to the leader's address. Built
 * on the JDK's {@code com.sun.net.httpserver}: three read-only pages need no web framework, and it
 * adds no dependency. Requests run on two daemon threads of its own and read only immutable
 * {@link ClusterSnapshot}s from {@link Source}, never scheduler state.
 *
 * <p>Lifecycle: {@link #start()} once, {@link #close()} idempotent.
 */
public final class StatusServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(StatusServer.class);

    /** Where the pages come from; called on HTTP threads. */
    public interface Source {
        /**
         * The leader's state, fresh to within a fraction of a second.
         *
         * @return the state, or null while this coordinator stands by
         */
        ClusterSnapshot snapshot();

        /**
         * The current leader's HTTP address, as published in ZooKeeper.
         *
         * @return {@code http://host:port/}, or null when no leader is published
         */
        String leaderUrl();

        /**
         * The standby coordinators.
         *
         * @return their ids
         */
        List<String> standbys();

    }

    private final String host;
    private final int requestedPort;
    private final Source source;
    private final LeaderMetrics metrics;
    private final ExecutorScraper executors = new ExecutorScraper();
    private HttpServer server;
    private ExecutorService threads;
    private boolean closed;

    /**
     * A server not started yet.
     *
     * @param host the address to bind and advertise
     * @param port the port, 0 for any free one
     * @param source the pages' data
     * @param metrics the leader's metrics
     */
    public StatusServer(String host, int port, Source source, LeaderMetrics metrics) {
        this.host = host;
        this.requestedPort = port;
        this.source = source;
        this.metrics = metrics;
    }

    /** Binds the port and serves. */
    public synchronized void start() {
        try {
            server = HttpServer.create(new InetSocketAddress(host, requestedPort), 16);
        } catch (IOException e) {
            throw new QuiverException("cannot serve the status page on " + host + ":" + requestedPort + ": " + e
                    + "; choose another --http-port (0 picks a free one)", e);
        }
        threads = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "quiver-http-" + requestedPort);
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /**
     * The bound port.
     *
     * @return the port
     */
    public synchronized int port() {
        return server.getAddress().getPort();
    }

    /**
     * This server's own address.
     *
     * @return {@code http://host:port/}
     */
    public String url() {
        return "http://" + host + ":" + port() + "/";
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            String path = x.getRequestURI().getPath();
            if (!"GET".equals(x.getRequestMethod()) && !"HEAD".equals(x.getRequestMethod())) {
                send(x, 405, "text/plain; charset=utf-8", "only GET is served here\n");
                return;
            }
            if (!path.equals("/") && !path.equals("/api/cluster") && !path.equals("/metrics")) {
                send(x, 404, "text/plain; charset=utf-8", "no page " + path + "; try /, /api/cluster or /metrics\n");
                return;
            }
            ClusterSnapshot s = source.snapshot();
            if (s == null) {
                String leader = source.leaderUrl();
                if (leader == null) {
                    send(x, 503, "text/plain; charset=utf-8", "this coordinator stands by and no leader is published"
                            + " yet; try again in a few seconds\n");
                } else {
                    x.getResponseHeaders().set("Location", leader + path.substring(1));
                    send(x, 307, "text/plain; charset=utf-8", "this coordinator stands by; the leader is at "
                            + leader + "\n");
                }
                return;
            }
            x.getResponseHeaders().set("Cache-Control", "no-store");
            switch (path) {
                case "/metrics" -> {
                    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
                    metrics.write(out);
                    send(x, 200, metrics.contentType(), out.toByteArray());
                }
                case "/api/cluster" -> send(x, 200, "application/json; charset=utf-8", Json.write(document(s)));
                default -> send(x, 200, "text/html; charset=utf-8", StatusPage.render(document(s)));
            }
        } catch (IOException e) {
            log.debug("status request failed: {}", e.toString());
        } catch (RuntimeException e) {
            log.warn("status request {} failed", x.getRequestURI(), e);
        }
    }

    private Map<String, Object> document(ClusterSnapshot s) {
        Map<String, Object> doc = ClusterJson.of(s, url(), source.standbys(), executors.spilled(s));
        ClusterJson.addEvents(doc, executors.events());
        return doc;
    }

    private static void send(HttpExchange x, int code, String type, String body) throws IOException {
        send(x, code, type, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange x, int code, String type, byte[] body) throws IOException {
        x.getResponseHeaders().set("Content-Type", type);
        boolean head = "HEAD".equals(x.getRequestMethod());
        x.sendResponseHeaders(code, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
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
        if (threads != null) {
            threads.shutdownNow();
            try {
                threads.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
