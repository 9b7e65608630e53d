package io.quiver.executor;

import io.netty.buffer.ByteBuf;
import io.quiver.QuiverException;
import io.quiver.core.code.ClassPath;
import io.quiver.core.code.CodeJars;
import io.quiver.core.loop.EventLoop;
import io.quiver.core.net.Connection;
import io.quiver.core.protocol.Message.CodeOffer;
import io.quiver.core.protocol.Message.CodeReady;
import io.quiver.core.protocol.Message.CodeRelease;
import io.quiver.core.protocol.Message.CodeWant;
import io.quiver.core.protocol.Message.JarChunk;
import io.quiver.core.protocol.Message.JarInfo;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe: Netty threads deliver offers and chunks and return at once; the {@code io} pool hashes
 * this executor's own class path (once) and answers offers; the {@code disk} thread writes and
 * verifies jars. The code of every client on this executor ({@link ClientCode}), by the owner its
 * refs carry.
 *
 * <p>Jars are cached by SHA-256 in {@code <workDir>/jars/<sha>.jar}, each written to a part file,
 * verified and moved into place atomically, so a jar that is there is whole. A jar whose SHA-256
 * matches an entry of this executor's own class path (Quiver's jars, {@code --classpath}) is never
 * asked for: the parent loader has it.
 *
 * <p>A client's loader goes when the client says so ({@code CodeRelease}, sent by {@code close()}),
 * or, if it vanished without a word, once none of its data connections has been open for
 * {@link #GRACE_MILLIS}: a crashed client has no one to wait for, and a client whose connection only
 * dropped offers its code again when it reconnects and keeps its loader. The leader's view of client
 * lifetime is not used for this: it would take a new message from the scheduler, and the data
 * connection is what carries the code in the first place.
 */
final class ClientCodes implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClientCodes.class);
    /** The largest jar accepted. */
    static final long MAX_JAR_BYTES = Long.getLong("quiver.executor.maxJarBytes", 1L << 30);
    /** How long a client's loader outlives its last data connection when it did not say goodbye. */
    static final long GRACE_MILLIS = Long.getLong("quiver.executor.codeGraceMs", 30_000);

    private final String executorId;
    private final Path jarDir;
    private final ClassLoader parent;
    private final Executor io;
    private final Executor disk;
    private final EventLoop loop;
    private final Consumer<ClientCode> ready;
    private final Consumer<ClientCode> gone;
    private final LongAdder bytesReceived = new LongAdder();
    private final Map<Long, ClientCode> byOwner = new ConcurrentHashMap<>();
    private final Map<Connection, Upload> uploads = new ConcurrentHashMap<>();
    private volatile CompletableFuture<Set<String>> own;
    private volatile boolean closed;

    /** One offer's jars arriving on one connection; chunk order is checked on the Netty thread. */
    private static final class Upload {
        final Connection conn;
        final CodeOffer offer;
        final Set<String> remaining = ConcurrentHashMap.newKeySet();
        final Map<String, JarInfo> wanted = new ConcurrentHashMap<>();
        final Set<String> own;
        volatile boolean failed;
        // Netty thread only:
        String current;
        long expected;
        // Disk thread only:
        FileChannel file;
        Path part;
        MessageDigest digest;

        Upload(Connection conn, CodeOffer offer, Set<String> own) {
            this.conn = conn;
            this.offer = offer;
            this.own = own;
        }
    }

    ClientCodes(String executorId, Path workDir, ClassLoader parent, Executor io, Executor disk, EventLoop loop,
                Consumer<ClientCode> ready, Consumer<ClientCode> gone) {
        this.executorId = executorId;
        this.jarDir = workDir.resolve("jars");
        this.parent = parent;
        this.io = io;
        this.disk = disk;
        this.loop = loop;
        this.ready = ready;
        this.gone = gone;
    }

    /** Jar bytes received from clients. */
    long bytesReceived() {
        return bytesReceived.sum();
    }

    /** Clients with code here now, and how many of them have a loader of their own. */
    int[] counts() {
        int own = 0;
        for (ClientCode c : byOwner.values()) {
            own += c.ownLoader() ? 1 : 0;
        }
        return new int[] {byOwner.size(), own};
    }

    /** Starts hashing this executor's own class path on an I/O thread, if nothing has yet. */
    void hashOwnClassPath() {
        own();
    }

    /** The SHA-256 of every entry of this executor's own class path, hashed once, on first need. */
    private CompletableFuture<Set<String>> own() {
        CompletableFuture<Set<String>> f = own;
        if (f == null) {
            synchronized (this) {
                if (own == null) {
                    own = CompletableFuture.supplyAsync(this::hashOwn, io);
                }
                f = own;
            }
        }
        return f;
    }

    private Set<String> hashOwn() {
        List<Path> entries = new ArrayList<>(ClassPath.application());
        for (ClassLoader l = parent; l != null; l = l.getParent()) {
            if (l instanceof URLClassLoader u) {
                for (URL url : u.getURLs()) {
                    if ("file".equals(url.getProtocol())) {
                        try {
                            entries.add(Path.of(url.toURI()));
                        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
                            log.debug("ignoring class loader entry {}: {}", url, e.toString());
                        }
                    }
                }
            }
        }
        Set<String> shas = new java.util.HashSet<>();
        long start = System.nanoTime();
        for (Path p : ClassPath.expand(entries)) {
            try {
                shas.add(CodeJars.of(p).sha256());
            } catch (QuiverException e) {
                log.warn("executor {}: cannot hash its own class path entry {}: {}", executorId, p, e.getMessage());
            }
        }
        log.debug("executor {} hashed {} class path entries in {} ms", executorId, shas.size(),
                (System.nanoTime() - start) / 1_000_000);
        return Set.copyOf(shas);
    }

    // ------------------------------------------------------------------ Netty threads

    void onOffer(Connection c, CodeOffer offer) {
        own().whenCompleteAsync((ownShas, e) -> {
            if (e != null) {
                c.sendNow(new CodeReady(offer.owner(), "executor " + executorId + " cannot hash its own class path: "
                        + e));
                return;
            }
            answer(c, offer, ownShas);
        }, io);
    }

    /** On the io pool: asks for what is missing, or makes the loader at once. */
    private void answer(Connection c, CodeOffer offer, Set<String> ownShas) {
        Upload up = new Upload(c, offer, ownShas);
        for (JarInfo j : offer.jars()) {
            if (j.size() > MAX_JAR_BYTES) {
                refuse(up, "jar " + j.name() + " is " + j.size() + " bytes, over this executor's limit of "
                        + MAX_JAR_BYTES + " bytes (-Dquiver.executor.maxJarBytes); ship a smaller jar set with"
                        + " ConnectOptions.shipClassPath(false).jars(...), or start executors with --classpath");
                return;
            }
            if (!ownShas.contains(j.sha256()) && !Files.isRegularFile(cached(j.sha256()))) {
                up.wanted.put(j.sha256(), j);
                up.remaining.add(j.sha256());
            }
        }
        if (!up.remaining.isEmpty()) {
            Upload previous = uploads.put(c, up);
            if (previous != null) {
                previous.failed = true;
                disk.execute(() -> discard(previous));
            }
        }
        c.sendNow(new CodeWant(offer.owner(), List.copyOf(up.remaining)));
        if (up.remaining.isEmpty()) {
            disk.execute(() -> finish(up));
        }
    }

    void onChunk(Connection c, JarChunk chunk) {
        ByteBuf data = chunk.data();
        try {
            Upload up = uploads.get(c);
            if (up == null || up.failed) {
                if (up == null) {
                    log.warn("executor {}: jar chunk {} from {} belongs to no offer; ignored", executorId,
                            chunk.sha256(), c);
                    c.sendNow(new CodeReady(-1, "jar chunk for " + chunk.sha256() + " arrived before any CodeOffer"
                            + " that wanted it; send CodeOffer first and only the jars CodeWant names"));
                }
                return;
            }
            JarInfo want = up.wanted.get(chunk.sha256());
            String problem = null;
            if (want == null) {
                problem = "jar " + chunk.sha256() + " was not asked for";
            } else if (chunk.total() != want.size()) {
                problem = "jar " + want.name() + " was offered with " + want.size() + " bytes but its chunk says "
                        + chunk.total();
            } else if (up.current == null ? chunk.offset() != 0 || !up.remaining.contains(chunk.sha256())
                    : !up.current.equals(chunk.sha256()) || chunk.offset() != up.expected) {
                problem = "chunk [" + chunk.offset() + ", +" + data.readableBytes() + ") of jar " + want.name()
                        + " is out of order" + (up.current == null ? "" : " (expected " + up.current + " at "
                        + up.expected + ")");
            }
            if (problem != null) {
                refuse(up, problem);
                return;
            }
            up.current = chunk.sha256();
            up.expected = chunk.offset() + data.readableBytes();
            boolean last = up.expected == chunk.total();
            if (last) {
                up.current = null;
            }
            ByteBuf retained = data.retain();
            bytesReceived.add(retained.readableBytes());
            disk.execute(() -> write(up, want, retained, last));
        } finally {
            data.release();
        }
    }

    void onRelease(Connection c, CodeRelease release) {
        ClientCode code = byOwner.get(release.owner());
        if (code != null) {
            code.connections.remove(c);
            drop(code, "it closed");
        }
    }

    void onClose(Connection c) {
        Upload up = uploads.remove(c);
        if (up != null) {
            up.failed = true;
            disk.execute(() -> discard(up));
        }
        for (ClientCode code : byOwner.values()) {
            if (code.connections.remove(c) && code.connections.isEmpty() && !closed) {
                loop.schedule(() -> {
                    if (code.connections.isEmpty()) {
                        drop(code, "no data connection from it for " + GRACE_MILLIS + " ms");
                    }
                }, GRACE_MILLIS, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void refuse(Upload up, String reason) {
        up.failed = true;
        uploads.remove(up.conn, up);
        log.warn("executor {}: refusing the code of client {} from {}: {}", executorId, up.offer.client(), up.conn,
                reason);
        up.conn.sendNow(new CodeReady(up.offer.owner(), reason));
        disk.execute(() -> discard(up));
    }

    private void drop(ClientCode code, String why) {
        if (byOwner.remove(code.owner, code)) {
            log.debug("executor {}: dropping the code of {}: {}", executorId, code, why);
            gone.accept(code);
        }
    }

    // ------------------------------------------------------------------ disk thread

    private Path cached(String sha) {
        return jarDir.resolve(sha + ".jar");
    }

    private void write(Upload up, JarInfo jar, ByteBuf data, boolean last) {
        try {
            if (up.failed) {
                return;
            }
            if (up.file == null) {
                Files.createDirectories(jarDir);
                up.part = Files.createTempFile(jarDir, jar.sha256() + "-", ".part");
                up.file = FileChannel.open(up.part, StandardOpenOption.WRITE);
                up.digest = CodeJars.newDigest();
            }
            for (ByteBuffer b : data.nioBuffers()) {
                up.digest.update(b.duplicate());
                while (b.hasRemaining()) {
                    up.file.write(b);
                }
            }
            if (last) {
                up.file.close();
                up.file = null;
                String sha = HexFormat.of().formatHex(up.digest.digest());
                Path part = up.part;
                up.part = null;
                if (!sha.equals(jar.sha256())) {
                    Files.deleteIfExists(part);
                    refuse(up, "jar " + jar.name() + " arrived with SHA-256 " + sha + " but was offered as "
                            + jar.sha256() + "; it was damaged in transit, or changed while it was sent");
                    return;
                }
                Files.move(part, cached(sha), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                up.remaining.remove(sha);
                if (up.remaining.isEmpty()) {
                    uploads.remove(up.conn, up);
                    finish(up);
                }
            }
        } catch (IOException | RuntimeException e) {
            refuse(up, "executor " + executorId + " cannot store jar " + jar.name() + " in " + jarDir + ": " + e);
        } finally {
            data.release();
        }
    }

    private void discard(Upload up) {
        try {
            if (up.file != null) {
                up.file.close();
                up.file = null;
            }
            if (up.part != null) {
                Files.deleteIfExists(up.part);
                up.part = null;
            }
        } catch (IOException e) {
            log.warn("executor {}: cannot delete {}: {}", executorId, up.part, e.toString());
        }
    }

    /** Every jar is here: the client's loader (kept if the client already has one here), then CodeReady. */
    private void finish(Upload up) {
        CodeOffer offer = up.offer;
        if (closed || up.failed) {
            return;
        }
        ClientCode code = byOwner.get(offer.owner());
        if (code == null) {
            List<URL> urls = new ArrayList<>();
            Set<String> seen = new LinkedHashSet<>();
            try {
                for (JarInfo j : offer.jars()) {
                    if (!up.own.contains(j.sha256()) && seen.add(j.sha256())) {
                        urls.add(cached(j.sha256()).toUri().toURL());
                    }
                }
            } catch (MalformedURLException e) {
                refuse(up, "executor " + executorId + " cannot name its cached jars as URLs: " + e);
                return;
            }
            ClassLoader loader = urls.isEmpty() ? parent
                    : new URLClassLoader(ClientCode.LOADER_PREFIX + offer.client(), urls.toArray(URL[]::new), parent);
            code = new ClientCode(offer.owner(), offer.client(), loader);
            ClientCode raced = byOwner.putIfAbsent(offer.owner(), code);
            if (raced != null) {
                code.close();
                code = raced;
            } else {
                log.debug("executor {}: code of client {} ready ({} jars of its own)", executorId, offer.client(),
                        urls.size());
                ready.accept(code);
            }
        }
        code.connections.add(up.conn);
        if (!up.conn.isOpen()) {
            onClose(up.conn); // closed meanwhile: start its grace
        }
        up.conn.sendNow(new CodeReady(offer.owner(), null));
    }

    /** Stops taking code; loaders are closed by the loop as it stops. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (Upload up : uploads.values()) {
            up.failed = true;
        }
        uploads.clear();
    }

    /** The code of every client, for closing at shutdown. */
    List<ClientCode> all() {
        return List.copyOf(byOwner.values());
    }
}
