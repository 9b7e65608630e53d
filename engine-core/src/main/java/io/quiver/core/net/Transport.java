package io.quiver.core.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.quiver.QuiverException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Netty event loops and bootstraps for one process component: native epoll where available, NIO
 * otherwise. Closing it stops its threads.
 *
 * <p>It also holds the component's {@link Tls}: with TLS on, every channel it binds or connects gets
 * the TLS handlers first in its pipeline, before the initializer's framing and handshake, so no
 * Quiver connection of the component can be plaintext.
 */
public final class Transport implements AutoCloseable {
    /** High and low water marks of a channel's outbound buffer: back-pressure for bulk data. */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(4 << 20, 16 << 20);

    private final EventLoopGroup group;
    private final boolean epoll;
    private final Tls tls;

    /**
     * Plaintext event loops.
     *
     * @param name the threads' name prefix
     * @param threads how many event loops
     */
    public Transport(String name, int threads) {
        this(name, threads, Tls.NONE);
    }

    /**
     * Event loops whose channels all use {@code tls}.
     *
     * @param name the threads' name prefix
     * @param threads how many event loops
     * @param tls the component's TLS identity, or {@link Tls#NONE} for plaintext
     */
    public Transport(String name, int threads, Tls tls) {
        this.tls = java.util.Objects.requireNonNull(tls, "tls is null; pass Tls.NONE for plaintext");
        this.epoll = Epoll.isAvailable() && !Boolean.getBoolean("quiver.nio");
        IoHandlerFactory factory = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), factory);
    }

    public boolean isEpoll() {
        return epoll;
    }

    /** The TLS identity of every channel of this transport; {@link Tls#NONE} for plaintext. */
    public Tls tls() {
        return tls;
    }

    /** Binds a server; {@code port} 0 picks a free one. Blocks until bound. */
    public Channel bind(String host, int port, ChannelInitializer<SocketChannel> init) {
        Class<? extends ServerChannel> type = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ChannelFuture f = new ServerBootstrap()
                .group(group)
                .channel(type)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(tls.isEnabled() ? new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls-probe", new Tls.PlaintextProbe())
                                .addLast("tls", tls.serverHandler(ch.alloc()))
                                .addLast(init); // runs once added: framing and handshake after TLS
                    }
                } : init)
                .bind(host, port)
                .awaitUninterruptibly();
        if (!f.isSuccess()) {
            throw new QuiverException("could not listen on " + host + ":" + port + ": " + f.cause(), f.cause());
        }
        return f.channel();
    }

    /** Connects, blocking up to {@code timeoutMillis}. */
    public Channel connect(String host, int port, int timeoutMillis, ChannelInitializer<SocketChannel> init) {
        ChannelFuture f = new Bootstrap()
                .group(group)
                .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(tls.isEnabled() ? new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls", tls.clientHandler(ch.alloc(), host, port, timeoutMillis))
                                .addLast(init);
                    }
                } : init)
                .connect(new InetSocketAddress(host, port));
        if (!f.awaitUninterruptibly(timeoutMillis + 1000L, TimeUnit.MILLISECONDS) || !f.isSuccess()) {
            f.cancel(false);
            throw new QuiverException("could not connect to " + host + ":" + port + ": "
                    + (f.cause() == null ? "timed out after " + timeoutMillis + " ms" : f.cause().toString()), f.cause());
        }
        return f.channel();
    }

    public EventLoopGroup group() {
        return group;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
