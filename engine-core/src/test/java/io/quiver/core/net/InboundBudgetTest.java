package io.quiver.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A peer that sends faster than the receiver deals with its messages is read no further once the
 * connection holds its inbound budget: the receiver's memory stays bounded, TCP pushes back on the
 * sender, and nothing is lost when the receiver catches up. Real sockets on loopback.
 */
class InboundBudgetTest {
    static final long BUDGET = Connection.DEFAULT_INBOUND_BUDGET;
    /** What one socket read may bring on top of the budget: frames already read are still decoded. */
    static final long SLACK = 8L << 20;

    final Transport transport = new Transport("budget-test", 2);
    final Queue<Kept> kept = new ConcurrentLinkedQueue<>();
    final AtomicReference<Connection> serverSide = new AtomicReference<>();
    final AtomicLong received = new AtomicLong();
    Channel server;

    record Kept(Connection c, long bytes, Message.DataMessage m) {}

    @AfterEach
    void tearDown() {
        releaseAll();
        if (server != null) {
            server.close().awaitUninterruptibly();
        }
        transport.close();
    }

    /** A server whose connections hand {@code onMessage} to {@code handler}; returns a client connected to it. */
    Connection connectTo(java.util.function.BiConsumer<Connection, Message> handler) {
        server = transport.bind("127.0.0.1", 0, Pipelines.server(new Pipelines.ServerSpec("server", Secret.NONE,
                MessageCodec.DEFAULT_MAX_FRAME, () -> 1, new AtomicLong()::incrementAndGet), new Endpoint() {
                    @Override
                    public void onOpen(Connection c) {
                        serverSide.set(c);
                    }

                    @Override
                    public void onMessage(Connection c, Message m) {
                        received.incrementAndGet();
                        handler.accept(c, m);
                    }
                }));
        int port = ((InetSocketAddress) server.localAddress()).getPort();
        Connection c = Pipelines.connect(transport, "127.0.0.1", port, Secret.NONE, Role.CLIENT, "flooder", 0,
                MessageCodec.DEFAULT_MAX_FRAME, 5_000, (conn, m) -> { });
        await().atMost(Duration.ofSeconds(5)).until(() -> serverSide.get() != null);
        return c;
    }

    /** A server that keeps every message it gets, as an endpoint with a slow consumer would. */
    Connection connectToKeepingServer() {
        return connectTo((c, m) -> kept.add(new Kept(c, c.keepInput(), (Message.DataMessage) m)));
    }

    /** Settles what the server kept, from this (non-event-loop) thread, as a consumer thread would. */
    void releaseAll() {
        Kept k;
        while ((k = kept.poll()) != null) {
            k.m().data().release();
            k.c().releaseInput(k.bytes());
        }
    }

    @Test
    void aConnectionThatHoldsItsBudgetStopsReadingUntilItsInputIsSettledAndLosesNothing() {
        Connection c = connectToKeepingServer();
        Connection s = serverSide.get();
        assertThat(s.inputBudget()).isEqualTo(BUDGET);
        long pausesBefore = Connection.budgetPauses();

        RefId ref = new RefId(1, 1);
        byte[] chunk = new byte[MessageCodec.CHUNK_SIZE];
        int chunks = (int) (3 * BUDGET / chunk.length); // three budgets' worth
        long total = (long) chunks * chunk.length;
        for (int i = 0; i < chunks; i++) {
            c.send(new PutChunk(ref, total, (long) i * chunk.length, 0, List.of(), Unpooled.wrappedBuffer(chunk)));
        }

        // The server stops at its budget and the sender's side backs up: it can write nothing for long.
        await().atMost(Duration.ofSeconds(20)).until(() -> s.inputHeld() >= BUDGET);
        assertThatThrownBy(() -> c.awaitWritable(500, "the flood"))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining("read nothing for 500 ms");
        assertThat(s.inputHeld()).isBetween(BUDGET, BUDGET + SLACK);
        assertThat(received.get()).isLessThan(chunks);
        assertThat(Connection.budgetPauses()).isGreaterThan(pausesBefore);
        assertThat(s.channel().config().isAutoRead()).isFalse();

        // Settled from another thread, the connection reads on; every chunk arrives, none twice.
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            releaseAll();
            return received.get() == chunks;
        });
        releaseAll();
        await().atMost(Duration.ofSeconds(5)).until(() -> s.inputHeld() == 0);
        assertThat(received.get()).isEqualTo(chunks);
        assertThat(s.channel().config().isAutoRead()).isTrue();
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void messagesSettledInOnMessageNeverPauseReadingAndTheEndpointsOwnPauseIsKept() {
        Connection c = connectTo((conn, m) -> ((Message.DataMessage) m).data().release());
        Connection s = serverSide.get();
        byte[] chunk = new byte[MessageCodec.CHUNK_SIZE];
        int chunks = (int) (3 * BUDGET / chunk.length);
        long total = (long) chunks * chunk.length;
        for (int i = 0; i < chunks; i++) {
            c.send(new PutChunk(new RefId(1, 2), total, (long) i * chunk.length, 0, List.of(),
                    Unpooled.wrappedBuffer(chunk)));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> received.get() == chunks);
        assertThat(s.inputHeld()).isZero();
        assertThat(s.channel().config().isAutoRead()).isTrue();

        // The endpoint's own pause (e.g. a forward that backed up) is not undone by the budget.
        s.channel().eventLoop().submit(s::pauseReading).syncUninterruptibly();
        assertThat(s.channel().config().isAutoRead()).isFalse();
        s.releaseInput(0);
        assertThat(s.channel().config().isAutoRead()).isFalse();
        s.channel().eventLoop().submit(s::resumeReading).syncUninterruptibly();
        assertThat(s.channel().config().isAutoRead()).isTrue();
    }
}
