package io.quiver.process;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.quiver.RefId;
import io.quiver.core.net.Secret;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.Challenge;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.Hello;
import io.quiver.core.protocol.Message.Launch;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.Welcome;
import io.quiver.core.protocol.MessageCodec;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A program without the cluster secret that poses as a Quiver leader: it speaks the handshake as
 * well as one can without the secret (a challenge, then a welcome whose proof is made up), then
 * sends a {@link Launch} whose function and argument are a {@link TestingDeserializationMarker},
 * and records every frame its peers send after the handshake (a registered executor would send
 * {@code Register}). Raw sockets, one thread per connection; {@link #close()} stops it.
 */
final class TestingRoguePeer implements AutoCloseable {
    private final ServerSocket listener;
    private final byte[] marker;
    private final long epoch;
    private final List<String> hellos = new CopyOnWriteArrayList<>();
    private final List<Integer> framesAfterHandshake = new CopyOnWriteArrayList<>();

    TestingRoguePeer(TestingDeserializationMarker marker, long epoch) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.marker = marker.serialized();
        this.epoch = epoch;
        Thread accept = new Thread(this::acceptLoop, "rogue-leader");
        accept.setDaemon(true);
        accept.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** "role id" of every peer that sent a hello. */
    List<String> hellos() {
        return List.copyOf(hellos);
    }

    /** Type codes of frames peers sent after our (unproven) welcome. */
    List<Integer> framesAfterHandshake() {
        return List.copyOf(framesAfterHandshake);
    }

    /** The Launch frame every attack sends: the marker as the function and as a value argument. */
    byte[] launchFrame() {
        return frame(new Launch(epoch, List.of(new FnDef(1, marker, null)),
                List.of(new TaskLaunch(List.of(new RefId(1, 1)), 1, List.of(Arg.value(marker))))));
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                Thread t = new Thread(() -> serve(s), "rogue-leader-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(30_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            out.write(frame(new Challenge(Secret.nonce(), "rogue", epoch)));
            out.flush();
            if (read(in) instanceof Hello h) {
                hellos.add(h.role().name().toLowerCase() + " " + h.id());
            }
            out.write(frame(new Welcome("rogue", epoch, 1, new byte[32])));
            out.write(launchFrame());
            out.flush();
            while (true) {
                int length = in.readInt();
                byte[] body = new byte[length];
                in.readFully(body);
                framesAfterHandshake.add((int) body[0]);
            }
        } catch (IOException | RuntimeException e) {
            // the peer hung up on us: what it should do
        }
    }

    static byte[] frame(Message m) {
        ByteBuf buf = Unpooled.buffer();
        buf.writeInt(0);
        buf.writeByte(m.type().code);
        m.write(buf);
        buf.setInt(0, buf.readableBytes() - 4);
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        buf.release();
        return bytes;
    }

    static Message read(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > 1 << 20) {
            throw new IOException("frame of " + length + " bytes");
        }
        byte[] body = new byte[length];
        in.readFully(body);
        return MessageCodec.decode(Unpooled.wrappedBuffer(body));
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
