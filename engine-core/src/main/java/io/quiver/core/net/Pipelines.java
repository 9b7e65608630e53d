package io.quiver.core.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.quiver.QuiverException;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Challenge;
import io.quiver.core.protocol.Message.Hello;
import io.quiver.core.protocol.Message.Refused;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.Message.Welcome;
import io.quiver.core.protocol.MessageCodec;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the pipelines of every Quiver connection.
 *
 * <pre>
 *  both sides: [TLS] | Encoder | Frames | Handshake (raw frames) | Decoder | Dispatcher
 *
 *  server                                   peer (client, executor)
 *    Challenge(nonceS, serverId, epoch) --&gt;
 *                                       &lt;-- Hello(role, id, epoch, nonceP, helloMac)
 *    checks helloMac                           (the peer is now proven to the server)
 *    Welcome(serverId, epoch, session, welcomeMac) --&gt;
 *                                              checks welcomeMac (the server is now proven)
 * </pre>
 *
 * Authentication is mutual: both MACs cover both fresh nonces (see {@link Secret}), so neither side
 * trusts a peer that cannot prove the secret, and a recorded handshake fails on any other
 * connection. Each side's handshake handler reads raw frames and decodes nothing but the few
 * handshake types; until it is done, {@code Frames} accepts only frames of at most
 * {@value #HANDSHAKE_MAX_FRAME} bytes, the handshake must finish within
 * {@value #HANDSHAKE_TIMEOUT_MILLIS} ms, and a process holds at most {@link #MAX_UNAUTHENTICATED}
 * unauthenticated inbound connections. So an unauthenticated peer can make a process decode, buffer
 * or keep almost nothing.
 *
 * <p>With TLS ({@link Tls}, set on the {@link Transport}), the TLS handlers come first, so all of
 * the above runs inside an encrypted, mutually authenticated TLS session; a TLS handshake failure
 * is refused and logged like a failed HMAC handshake, and the deadline covers both.
 */
public final class Pipelines {
    private static final Logger log = LoggerFactory.getLogger(Pipelines.class);
    /** Largest frame either side accepts before the other has proven the secret. */
    public static final int HANDSHAKE_MAX_FRAME = 4096;
    /** How long an inbound connection may take to prove the secret before it is closed. */
    public static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /**
     * Inbound connections per process that have not proven the secret yet; beyond it new ones are
     * closed at once ({@code -Dquiver.net.maxUnauthenticated}). Honest peers finish their
     * handshake in a round trip, so they rarely hold a place for long.
     */
    public static final int MAX_UNAUTHENTICATED = Integer.getInteger("quiver.net.maxUnauthenticated", 64);
    /** Refusals logged in full per minute by one server; the rest are counted (see {@link RefusalLog}). */
    private static final int REFUSALS_LOGGED_PER_MINUTE = 3;
    private static final AtomicInteger UNAUTHENTICATED = new AtomicInteger();

    private Pipelines() {}

    /**
     * Server side settings.
     *
     * @param serverId who we are, as we tell peers
     * @param secret the cluster secret peers must prove, and we prove to them
     * @param maxFrame the largest frame accepted once a peer is authenticated
     * @param epoch the epoch we tell peers
     * @param sessions mints the session number of each accepted connection
     * @param handshakeTimeoutMillis how long a peer may take to prove the secret
     */
    public record ServerSpec(String serverId, Secret secret, int maxFrame, LongSupplier epoch, LongSupplier sessions,
                             long handshakeTimeoutMillis) {
        /** With the default handshake deadline, {@value Pipelines#HANDSHAKE_TIMEOUT_MILLIS} ms. */
        public ServerSpec(String serverId, Secret secret, int maxFrame, LongSupplier epoch, LongSupplier sessions) {
            this(serverId, secret, maxFrame, epoch, sessions, HANDSHAKE_TIMEOUT_MILLIS);
        }
    }

    /** Inbound connections of this process that are still unauthenticated, for tests and metrics. */
    public static int unauthenticatedConnections() {
        return UNAUTHENTICATED.get();
    }

    /**
     * The initializer of a server's connections.
     *
     * @param spec who the server is and what it accepts
     * @param endpoint what gets the authenticated connections
     * @return the initializer for {@link Transport#bind}
     */
    public static ChannelInitializer<SocketChannel> server(ServerSpec spec, Endpoint endpoint) {
        RefusalLog refusals = new RefusalLog(TimeUnit.MINUTES.toNanos(1), REFUSALS_LOGGED_PER_MINUTE);
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                initServer(ch, spec, endpoint, refusals);
            }
        };
    }

    /** Builds a server connection's pipeline on {@code ch}, or closes it if too many are unauthenticated. */
    static void initServer(Channel ch, ServerSpec spec, Endpoint endpoint, RefusalLog refusals) {
        if (UNAUTHENTICATED.incrementAndGet() > MAX_UNAUTHENTICATED) {
            UNAUTHENTICATED.decrementAndGet();
            refusals.refused(ch.remoteAddress() + ": " + MAX_UNAUTHENTICATED + " connections of this process"
                    + " are already waiting to authenticate", System.nanoTime()).ifPresent(log::warn);
            ch.close();
            return;
        }
        Connection connection = new Connection(ch);
        Dispatcher dispatcher = new Dispatcher(connection, endpoint);
        Frames frames = new Frames(spec.maxFrame(), connection);
        ch.pipeline()
                .addLast("encoder", MessageCodec.Encoder.INSTANCE)
                .addLast("frames", frames)
                .addLast("handshake", new ServerHandshake(spec, connection, dispatcher, frames, refusals))
                .addLast("decoder", new MessageCodec.Decoder())
                .addLast("dispatcher", dispatcher);
    }

    /**
     * Connects and completes the handshake, blocking up to {@code timeoutMillis}: the server must
     * prove the secret too, or the connection is closed before anything it sent is decoded.
     *
     * @return the authenticated connection
     * @throws QuiverException naming the address and the reason if the connection or handshake
     *     fails; its cause is a {@link HandshakeRefusedException} if the server refused our secret,
     *     an {@link UnprovenPeerException} if the server could not prove the secret
     */
    public static Connection connect(Transport transport, String host, int port, Secret secret, Role role, String id,
                                     long epoch, int maxFrame, int timeoutMillis, Endpoint endpoint) {
        CompletableFuture<Welcome> welcome = new CompletableFuture<>();
        Connection[] holder = new Connection[1];
        String address = host + ":" + port;
        Channel ch = transport.connect(host, port, timeoutMillis, new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel c) {
                Connection connection = new Connection(c);
                holder[0] = connection;
                Dispatcher dispatcher = new Dispatcher(connection, endpoint);
                Frames frames = new Frames(maxFrame, connection);
                c.pipeline()
                        .addLast("encoder", MessageCodec.Encoder.INSTANCE)
                        .addLast("frames", frames)
                        .addLast("handshake", new ClientHandshake(secret, role, id, epoch, address, connection, dispatcher,
                                frames, welcome))
                        .addLast("decoder", new MessageCodec.Decoder())
                        .addLast("dispatcher", dispatcher);
            }
        });
        try {
            welcome.get(timeoutMillis, TimeUnit.MILLISECONDS);
            return holder[0];
        } catch (ExecutionException e) {
            ch.close();
            throw new QuiverException("handshake with " + address + " failed: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            ch.close();
            throw new QuiverException("handshake with " + address + " timed out after " + timeoutMillis + " ms"
                    + (transport.tls().isEnabled() ? "" : "; if that server runs with TLS, " + Tls.HOW_TO_ENABLE));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ch.close();
            throw new QuiverException("interrupted while connecting to " + address);
        }
    }

    /**
     * The frame decoder: until {@link #authenticated()}, any frame announced longer than
     * {@value #HANDSHAKE_MAX_FRAME} bytes fails the connection at its length field, before its body
     * is buffered; after it, frames up to {@code maxFrame}, each charged to the connection's
     * inbound budget (see {@link Connection}). Confined to the channel's event loop.
     */
    static final class Frames extends LengthFieldBasedFrameDecoder {
        private final Connection connection;
        private boolean authenticated;

        Frames(int maxFrame, Connection connection) {
            super(maxFrame, 0, 4, 0, 4, true);
            this.connection = connection;
            // Compose socket reads rather than copy them into one buffer (see MessageCodec.frameDecoder).
            setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
        }

        void authenticated() {
            authenticated = true; // from now on the constructor's maxFrame applies
        }

        @Override
        protected Object decode(ChannelHandlerContext ctx, ByteBuf in) throws Exception {
            if (!authenticated && in.readableBytes() >= 4) {
                long length = in.getUnsignedInt(in.readerIndex());
                if (length > HANDSHAKE_MAX_FRAME) {
                    boolean tlsRecord = in.getByte(in.readerIndex()) == 0x16 && in.getByte(in.readerIndex() + 1) == 0x03;
                    in.skipBytes(in.readableBytes()); // the connection is closing: keep and reread nothing
                    if (tlsRecord) {
                        throw new TooLongFrameException("the peer speaks TLS and this process does not (its first bytes"
                                + " are a TLS handshake record); " + Tls.HOW_TO_ENABLE);
                    }
                    throw new TooLongFrameException("a frame of " + length + " bytes before the handshake finished;"
                            + " at most " + HANDSHAKE_MAX_FRAME + " are accepted until the peer proves the cluster secret");
                }
            }
            Object frame = super.decode(ctx, in);
            if (authenticated && frame instanceof ByteBuf b) {
                connection.arrived(b.readableBytes());
            }
            return frame;
        }
    }

    private static String reasonOf(Throwable cause) {
        Throwable reason = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        return reason.getMessage() == null ? reason.toString() : reason.getMessage();
    }

    /** The first byte of a frame, its message type code; -1 for an empty frame. */
    private static int typeOf(ByteBuf frame) {
        return frame.isReadable() ? frame.getByte(frame.readerIndex()) : -1;
    }

    /** The server's side of the handshake; confined to the channel's event loop. */
    private static final class ServerHandshake extends ChannelInboundHandlerAdapter {
        private final ServerSpec spec;
        private final Connection connection;
        private final Dispatcher dispatcher;
        private final Frames frames;
        private final RefusalLog refusals;
        private final byte[] nonce = Secret.nonce();
        private ScheduledFuture<?> timeout;
        private boolean done;
        private boolean counted = true;

        ServerHandshake(ServerSpec spec, Connection connection, Dispatcher dispatcher, Frames frames, RefusalLog refusals) {
            this.spec = spec;
            this.connection = connection;
            this.dispatcher = dispatcher;
            this.frames = frames;
            this.refusals = refusals;
        }

        /** Gives back this connection's place among the unauthenticated ones, once. */
        private void uncount() {
            if (counted) {
                counted = false;
                UNAUTHENTICATED.decrementAndGet();
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(new Challenge(nonce, spec.serverId(), spec.epoch().getAsLong()));
            timeout = ctx.executor().schedule(() -> {
                if (!done) {
                    refuse(ctx, "no handshake within " + spec.handshakeTimeoutMillis() + " ms");
                }
            }, spec.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done) {
                ReferenceCountUtil.release(msg); // after a refusal, until the close
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            Hello hello;
            try {
                if (typeOf(frame) != Message.Type.HELLO.code) {
                    refuse(ctx, "expected a handshake hello first, got a frame of type " + typeOf(frame));
                    return;
                }
                hello = (Hello) MessageCodec.decode(frame);
            } catch (RuntimeException e) {
                refuse(ctx, "malformed handshake: " + e.getMessage());
                return;
            } finally {
                ReferenceCountUtil.release(frame);
            }
            if (hello.id() == null || !spec.secret().verifyHello(nonce, hello.nonce(), spec.serverId(),
                    hello.role().name(), hello.id(), hello.epoch(), hello.mac())) {
                refuse(ctx, "authentication failed for " + hello.role().name().toLowerCase() + " " + hello.id()
                        + ": wrong or missing cluster secret");
                return;
            }
            done = true;
            timeout.cancel(false);
            uncount();
            frames.authenticated();
            long session = spec.sessions().getAsLong();
            long epoch = spec.epoch().getAsLong();
            connection.identify(hello.role(), hello.id(), hello.epoch(), session);
            byte[] proof = spec.secret().welcomeMac(nonce, hello.nonce(), spec.serverId(), hello.role().name(),
                    hello.id(), epoch, session);
            ctx.writeAndFlush(new Welcome(spec.serverId(), epoch, session, proof));
            ctx.pipeline().remove(this);
            dispatcher.opened();
        }

        private void refuse(ChannelHandlerContext ctx, String reason) {
            refusals.refused(ctx.channel().remoteAddress() + ": " + reason, System.nanoTime()).ifPresent(log::warn);
            done = true;
            uncount();
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.channel().config().setAutoRead(false); // read nothing more from this peer
            ctx.writeAndFlush(new Refused(reason)).addListener(f -> ctx.close());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            uncount();
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (done) {
                Dispatcher.closeWithReason(ctx, connection, cause);
                return;
            }
            // Before authentication: a bounded log line, and the connection goes.
            String tls = Tls.describe(cause, "the peer");
            refusals.refused(ctx.channel().remoteAddress() + ": " + (tls != null ? tls : reasonOf(cause)),
                    System.nanoTime()).ifPresent(log::warn);
            done = true;
            uncount();
            ctx.close();
        }
    }

    /** The connecting side of the handshake; confined to the channel's event loop. */
    private static final class ClientHandshake extends ChannelInboundHandlerAdapter {
        private final Secret secret;
        private final Role role;
        private final String id;
        private final long epoch;
        private final String address;
        private final Connection connection;
        private final Dispatcher dispatcher;
        private final Frames frames;
        private final CompletableFuture<Welcome> welcome;
        private final byte[] nonce = Secret.nonce();
        private Challenge challenge;
        private boolean done;

        ClientHandshake(Secret secret, Role role, String id, long epoch, String address, Connection connection,
                        Dispatcher dispatcher, Frames frames, CompletableFuture<Welcome> welcome) {
            this.secret = secret;
            this.role = role;
            this.id = id;
            this.epoch = epoch;
            this.address = address;
            this.connection = connection;
            this.dispatcher = dispatcher;
            this.frames = frames;
            this.welcome = welcome;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done) {
                ReferenceCountUtil.release(msg); // after a failure, until the close
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            Message m;
            int type = typeOf(frame);
            try {
                if (type != Message.Type.CHALLENGE.code && type != Message.Type.WELCOME.code
                        && type != Message.Type.REFUSED.code) {
                    fail(ctx, new UnprovenPeerException("the server at " + address + " sent a frame of type " + type
                            + " during the handshake; is this a Quiver port?"));
                    return;
                }
                m = MessageCodec.decode(frame);
            } catch (RuntimeException e) {
                fail(ctx, new UnprovenPeerException("malformed handshake from the server at " + address + ": "
                        + e.getMessage()));
                return;
            } finally {
                ReferenceCountUtil.release(frame);
            }
            if (m instanceof Challenge c && challenge == null) {
                challenge = c;
                ctx.writeAndFlush(new Hello(role, id, epoch, nonce,
                        secret.helloMac(c.nonce(), nonce, c.serverId(), role.name(), id, epoch)));
            } else if (m instanceof Welcome w && challenge != null) {
                if (!java.util.Objects.equals(w.serverId(), challenge.serverId())
                        || !secret.verifyWelcome(challenge.nonce(), nonce, challenge.serverId(), role.name(), id,
                        w.epoch(), w.session(), w.mac())) {
                    fail(ctx, new UnprovenPeerException("the server at " + address + " (calling itself "
                            + challenge.serverId() + ") did not prove the cluster secret; it may be an impostor, or"
                            + " it has another secret: " + Secret.HOW_TO_SET));
                    return;
                }
                done = true;
                frames.authenticated();
                connection.identify(Role.COORDINATOR, w.serverId(), w.epoch(), w.session());
                ctx.pipeline().remove(this);
                dispatcher.opened();
                welcome.complete(w);
            } else if (m instanceof Refused r) {
                done = true;
                welcome.completeExceptionally(new HandshakeRefusedException(r.reason()));
                ctx.close();
            } else {
                fail(ctx, new UnprovenPeerException("the server at " + address + " sent an unexpected "
                        + m.getClass().getSimpleName() + " during the handshake"));
            }
        }

        private void fail(ChannelHandlerContext ctx, QuiverException e) {
            done = true;
            ctx.channel().config().setAutoRead(false);
            welcome.completeExceptionally(e);
            ctx.close();
        }

        /** A TLS handshake that failed without an exception reaching us (e.g. timed out) is said as such. */
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess() && !done) {
                String tls = Tls.describe(e.cause(), "the server at " + address);
                fail(ctx, new UnprovenPeerException(tls != null ? tls
                        : "TLS handshake with the server at " + address + " failed: " + reasonOf(e.cause())));
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            welcome.completeExceptionally(new QuiverException("connection closed during handshake"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (done) {
                // Still here, so the handshake failed and its reason was given; what the server sends while the
                // connection closes (e.g. a TLS alert after its plaintext Refused) adds nothing.
                log.debug("after the failed handshake with {}: {}", address, reasonOf(cause));
                ctx.close();
                return;
            }
            String tls = Tls.describe(cause, "the server at " + address);
            fail(ctx, new UnprovenPeerException(tls != null ? tls : "the server at " + address + " broke the handshake: "
                    + reasonOf(cause)));
        }
    }

    /** True for addresses only this machine can reach. */
    public static boolean isLoopback(String host) {
        try {
            return java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** Refuses to listen beyond loopback without a secret (DESIGN.md, Security). */
    public static void checkBindAllowed(String host, Secret secret) {
        if (!secret.isSet() && !isLoopback(host)) {
            throw new QuiverException("refusing to listen on " + host + " without a cluster secret: anyone who can"
                    + " reach it could run code here; " + Secret.HOW_TO_SET + "; or listen on 127.0.0.1");
        }
    }

    static ChannelPipeline pipelineOf(Connection c) {
        return c.channel().pipeline();
    }
}
