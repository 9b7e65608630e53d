package io.quiver.core.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.ProtocolException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of every pipeline: hands messages to the {@link Endpoint}; turns any failure on the
 * connection into a logged reason and a close, so a bad peer never affects anyone else.
 */
final class Dispatcher extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

    private final Connection connection;
    private final Endpoint endpoint;
    private volatile boolean open;

    Dispatcher(Connection connection, Endpoint endpoint) {
        this.connection = connection;
        this.endpoint = endpoint;
    }

    void opened() {
        open = true;
        endpoint.onOpen(connection);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        connection.dispatching();
        try {
            if (!(msg instanceof Message m)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (!open) {
                if (m instanceof Message.DataMessage d) {
                    d.data().release();
                }
                return;
            }
            endpoint.onMessage(connection, m);
        } finally {
            connection.dispatched();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        connection.writabilityChanged();
        if (open) {
            endpoint.onWritabilityChanged(connection);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        connection.writabilityChanged();
        if (open) {
            open = false;
            endpoint.onClose(connection);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        closeWithReason(ctx, connection, cause);
    }

    static void closeWithReason(ChannelHandlerContext ctx, Connection connection, Throwable cause) {
        Throwable reason = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (reason instanceof ProtocolException || reason instanceof io.netty.handler.codec.TooLongFrameException
                || reason instanceof io.netty.handler.codec.CorruptedFrameException
                || reason instanceof javax.net.ssl.SSLException) {
            log.warn("closing connection from {}: {}", connection, reason.getMessage());
        } else if (reason instanceof java.io.IOException) {
            log.debug("connection {} failed: {}", connection, reason.toString());
        } else {
            log.warn("closing connection from {} after an error", connection, reason);
        }
        ctx.close();
    }
}
