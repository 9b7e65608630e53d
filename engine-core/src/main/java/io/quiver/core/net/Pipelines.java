package io.quiver.core.net;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
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
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the pipelines of every Quiver connection.
 *
 * <pre>
 *  server: Encoder | FrameDecoder | ServerHandshake (raw frames) | Decoder | Dispatcher
 *  client: Encoder | FrameDecoder | Decoder | ClientHandshake | Dispatcher
 * </pre>
 *
 * The server's handshake reads the first frame itself and accepts nothing but a {@link Hello}
 * whose HMAC proves the secret; only then is the message decoder reached, so nothing an
 * unauthenticated peer sends is decoded beyond its hello.
 */
public final class Pipelines {
    private static final Logger log = LoggerFactory.getLogger(Pipelines.class);
    private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    /** Refusals logged in full per minute by one server; the rest are counted (see {@link RefusalLog}). */
    private static final int REFUSALS_LOGGED_PER_MINUTE = 3;

    private Pipelines() {}

    /** Server side settings: who we are, the secret, the largest frame accepted. */
    public record ServerSpec(String serverId, Secret secret, int maxFrame, LongSupplier epoch, LongSupplier sessions) {}

    public static ChannelInitializer<SocketChannel> server(ServerSpec spec, Endpoint endpoint) {
        RefusalLog refusals = new RefusalLog(TimeUnit.MINUTES.toNanos(1), REFUSALS_LOGGED_PER_MINUTE);
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                Connection connection = new Connection(ch);
                Dispatcher dispatcher = new Dispatcher(connection, endpoint);
                ch.pipeline()
                        .addLast("encoder", MessageCodec.Encoder.INSTANCE)
                        .addLast("frames", MessageCodec.frameDecoder(spec.maxFrame()))
                        .addLast("handshake", new ServerHandshake(spec, connection, dispatcher, refusals))
                        .addLast("decoder", new MessageCodec.Decoder())
                        .addLast("dispatcher", dispatcher);
            }
        };
    }

    /**
     * Connects and completes the handshake, blocking up to {@code timeoutMillis}.
     *
     * @throws QuiverException naming the address and the reason if the connection or handshake fails
     */
    public static Connection connect(Transport transport, String host, int port, Secret secret, Role role, String id,
                                     long epoch, int maxFrame, int timeoutMillis, Endpoint endpoint) {
        CompletableFuture<Welcome> welcome = new CompletableFuture<>();
        Connection[] holder = new Connection[1];
        Channel ch = transport.connect(host, port, timeoutMillis, new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel c) {
                Connection connection = new Connection(c);
                holder[0] = connection;
                Dispatcher dispatcher = new Dispatcher(connection, endpoint);
                c.pipeline()
                        .addLast("encoder", MessageCodec.Encoder.INSTANCE)
                        .addLast("frames", MessageCodec.frameDecoder(maxFrame))
                        .addLast("decoder", new MessageCodec.Decoder())
                        .addLast("handshake", new ClientHandshake(secret, role, id, epoch, connection, dispatcher, welcome))
                        .addLast("dispatcher", dispatcher);
            }
        });
        try {
            welcome.get(timeoutMillis, TimeUnit.MILLISECONDS);
            return holder[0];
        } catch (ExecutionException e) {
            ch.close();
            throw new QuiverException("handshake with " + host + ":" + port + " failed: " + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            ch.close();
            throw new QuiverException("handshake with " + host + ":" + port + " timed out after " + timeoutMillis + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ch.close();
            throw new QuiverException("interrupted while connecting to " + host + ":" + port);
        }
    }

    private static final class ServerHandshake extends ChannelInboundHandlerAdapter {
        private final ServerSpec spec;
        private final Connection connection;
        private final Dispatcher dispatcher;
        private final RefusalLog refusals;
        private final byte[] nonce = Secret.nonce();
        private ScheduledFuture<?> timeout;
        private boolean done;

        ServerHandshake(ServerSpec spec, Connection connection, Dispatcher dispatcher, RefusalLog refusals) {
            this.spec = spec;
            this.connection = connection;
            this.dispatcher = dispatcher;
            this.refusals = refusals;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(new Challenge(nonce, spec.serverId(), spec.epoch().getAsLong()));
            timeout = ctx.executor().schedule(() -> {
                log.warn("closing connection from {}: no handshake within {} ms", ctx.channel().remoteAddress(),
                        HANDSHAKE_TIMEOUT_MILLIS);
                ctx.close();
            }, HANDSHAKE_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done) {
                ctx.fireChannelRead(msg);
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            Message m;
            try {
                if (!frame.isReadable() || frame.getByte(frame.readerIndex()) != 2) {
                    refuse(ctx, "expected a handshake hello first");
                    return;
                }
                m = MessageCodec.decode(frame);
            } catch (RuntimeException e) {
                refuse(ctx, "malformed handshake: " + e.getMessage());
                return;
            } finally {
                ReferenceCountUtil.release(frame);
            }
            Hello hello = (Hello) m;
            if (hello.id() == null || !spec.secret().verify(nonce, hello.role().name(), hello.id(), hello.mac())) {
                refuse(ctx, "authentication failed for " + hello.role().name().toLowerCase() + " " + hello.id()
                        + ": wrong or missing cluster secret");
                return;
            }
            done = true;
            timeout.cancel(false);
            long session = spec.sessions().getAsLong();
            connection.identify(hello.role(), hello.id(), hello.epoch(), session);
            ctx.writeAndFlush(new Welcome(spec.serverId(), spec.epoch().getAsLong(), session));
            ctx.pipeline().remove(this);
            dispatcher.opened();
        }

        private void refuse(ChannelHandlerContext ctx, String reason) {
            refusals.refused(ctx.channel().remoteAddress() + ": " + reason, System.nanoTime()).ifPresent(log::warn);
            done = true;
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.writeAndFlush(new Refused(reason)).addListener(f -> ctx.close());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timeout != null) {
                timeout.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Dispatcher.closeWithReason(ctx, connection, cause);
        }
    }

    private static final class ClientHandshake extends ChannelInboundHandlerAdapter {
        private final Secret secret;
        private final Role role;
        private final String id;
        private final long epoch;
        private final Connection connection;
        private final Dispatcher dispatcher;
        private final CompletableFuture<Welcome> welcome;
        private Challenge challenge;

        ClientHandshake(Secret secret, Role role, String id, long epoch, Connection connection, Dispatcher dispatcher,
                        CompletableFuture<Welcome> welcome) {
            this.secret = secret;
            this.role = role;
            this.id = id;
            this.epoch = epoch;
            this.connection = connection;
            this.dispatcher = dispatcher;
            this.welcome = welcome;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Challenge c && challenge == null) {
                challenge = c;
                ctx.writeAndFlush(new Hello(role, id, epoch, secret.mac(c.nonce(), role.name(), id)));
            } else if (msg instanceof Welcome w && challenge != null) {
                connection.identify(Role.COORDINATOR, w.serverId(), w.epoch(), w.session());
                ctx.pipeline().remove(this);
                dispatcher.opened();
                welcome.complete(w);
            } else if (msg instanceof Refused r) {
                welcome.completeExceptionally(new HandshakeRefusedException(r.reason()));
                ctx.close();
            } else {
                ReferenceCountUtil.release(msg);
                if (msg instanceof Message.DataMessage d) {
                    d.data().release();
                }
                welcome.completeExceptionally(new QuiverException("unexpected " + msg.getClass().getSimpleName()
                        + " during handshake; is this a Quiver port?"));
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            welcome.completeExceptionally(new QuiverException("connection closed during handshake"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            welcome.completeExceptionally(cause);
            ctx.close();
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
