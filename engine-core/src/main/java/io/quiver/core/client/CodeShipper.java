package io.quiver.core.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.quiver.QuiverException;
import io.quiver.core.code.CodeJar;
import io.quiver.core.net.Connection;
import io.quiver.core.protocol.Message.CodeOffer;
import io.quiver.core.protocol.Message.CodeReady;
import io.quiver.core.protocol.Message.CodeRelease;
import io.quiver.core.protocol.Message.CodeWant;
import io.quiver.core.protocol.Message.JarChunk;
import io.quiver.core.protocol.Message.JarInfo;
import io.quiver.core.protocol.MessageCodec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe: Netty threads deliver replies, user threads wait, a user-executor thread streams.
 * Ships this client's code to an executor on each data connection, once per connection
 * (DESIGN.md, "User code"); the bytes never pass the coordinator.
 *
 * <pre>
 *  client --CodeOffer(owner, jars by SHA-256)--> executor     it compares with its own class path and cache
 *  client <--CodeWant(the SHAs it lacks)--------- executor     none, for a client seen before: no bytes move
 *  client --JarChunk*---------------------------> executor     writes &lt;workDir&gt;/jars/&lt;sha&gt;.jar, verifies
 *  client <--CodeReady(owner, error or null)----- executor     its loader for this client is ready
 *  client --CodeRelease(owner)------------------> executor     on close: the loader goes
 * </pre>
 */
final class CodeShipper {
    private static final Logger log = LoggerFactory.getLogger(CodeShipper.class);

    private final long owner;
    private final String clientId;
    private final List<CodeJar> jars;
    private final Map<String, CodeJar> bySha = new LinkedHashMap<>();
    private final Executor sender;
    private final LongAdder bytesSent = new LongAdder();
    private final Map<Connection, CompletableFuture<Void>> shipments = new ConcurrentHashMap<>();

    CodeShipper(long owner, String clientId, List<CodeJar> jars, Executor sender) {
        this.owner = owner;
        this.clientId = clientId;
        this.jars = List.copyOf(jars);
        for (CodeJar j : jars) {
            bySha.put(j.sha256(), j);
        }
        this.sender = sender;
    }

    /** What is offered, in class path order. */
    List<CodeJar> jars() {
        return jars;
    }

    /** Jar bytes sent so far, to every executor. */
    long bytesSent() {
        return bytesSent.sum();
    }

    /** Offers the code on {@code c} unless it was already; completes once the executor has it. */
    CompletableFuture<Void> shipOn(Connection c) {
        CompletableFuture<Void> known = shipments.get(c);
        if (known != null) {
            return known;
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        known = shipments.putIfAbsent(c, f);
        if (known != null) {
            return known;
        }
        List<JarInfo> infos = new ArrayList<>(jars.size());
        for (CodeJar j : jars) {
            infos.add(new JarInfo(j.sha256(), j.size(), j.name()));
        }
        c.sendNow(new CodeOffer(owner, clientId, infos));
        return f;
    }

    /** The executor lacks these: stream them, one after another, on a sender thread (it blocks on back-pressure). */
    void onWant(Connection c, CodeWant want) {
        CompletableFuture<Void> f = shipments.get(c);
        if (f == null || f.isDone()) {
            return;
        }
        List<CodeJar> wanted = new ArrayList<>(want.sha256s().size());
        for (String sha : want.sha256s()) {
            CodeJar j = bySha.get(sha);
            if (j == null) {
                f.completeExceptionally(new QuiverException("executor " + c.peerId() + " asked for jar " + sha
                        + ", which this client never offered"));
                return;
            }
            wanted.add(j);
        }
        if (wanted.isEmpty()) {
            return; // CodeReady follows
        }
        sender.execute(() -> {
            try {
                for (CodeJar j : wanted) {
                    stream(c, j);
                }
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
    }

    private void stream(Connection c, CodeJar jar) {
        try (FileChannel ch = FileChannel.open(jar.file(), StandardOpenOption.READ)) {
            long total = ch.size();
            if (total != jar.size()) {
                throw new QuiverException("jar " + jar.name() + " (" + jar.file() + ") changed while this client was"
                        + " connecting (" + jar.size() + " bytes then, " + total + " now); connect again");
            }
            long offset = 0;
            do {
                int len = (int) Math.min(MessageCodec.CHUNK_SIZE, total - offset);
                ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(len, len);
                try {
                    while (buf.writerIndex() < len) {
                        if (buf.writeBytes(ch, offset + buf.writerIndex(), len - buf.writerIndex()) < 0) {
                            throw new IOException("unexpected end of file at " + (offset + buf.writerIndex()));
                        }
                    }
                } catch (IOException | RuntimeException e) {
                    buf.release();
                    throw e;
                }
                if (!c.awaitWritable(DataClient.WRITE_STALL_MILLIS, "jar " + jar.name())) {
                    buf.release();
                    throw new QuiverException("executor " + c.peerId() + " closed the connection while jar "
                            + jar.name() + " was being sent");
                }
                c.send(new JarChunk(jar.sha256(), total, offset, buf));
                offset += len;
                bytesSent.add(len);
            } while (offset < total);
        } catch (IOException e) {
            throw new QuiverException("cannot read jar " + jar.name() + " (" + jar.file() + ") to ship it: " + e, e);
        }
    }

    void onReady(Connection c, CodeReady ready) {
        CompletableFuture<Void> f = shipments.get(c);
        if (f == null) {
            return;
        }
        if (ready.error() == null) {
            f.complete(null);
        } else {
            f.completeExceptionally(new QuiverException("executor " + c.peerId() + " refused this client's code: "
                    + ready.error()));
        }
    }

    void onClose(Connection c) {
        CompletableFuture<Void> f = shipments.remove(c);
        if (f != null && !f.isDone()) {
            f.completeExceptionally(new QuiverException("connection to executor " + c.peerId() + " closed while"
                    + " this client's code was being shipped"));
        }
    }

    /** Before the data connections close: every executor may drop this client's loader at once. */
    void release() {
        for (Connection c : shipments.keySet()) {
            if (c.isOpen()) {
                c.sendNow(new CodeRelease(owner));
            }
        }
        if (log.isDebugEnabled()) {
            log.debug("client {} released its code on {} executors", clientId, shipments.size());
        }
    }
}
