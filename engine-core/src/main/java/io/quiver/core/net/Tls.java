package io.quiver.core.net;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.util.concurrent.ScheduledFuture;
import io.quiver.QuiverException;
import io.quiver.core.protocol.Message;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * The TLS identity of one process component: its certificate chain and key, and the CA that every
 * peer's certificate must be signed by. Mutual: a server requires a client certificate, a client
 * checks the server's. Any certificate the trusted CA signed is a cluster member; host names are
 * not checked (every node may share one certificate, see {@code quiver tls-init}). {@link #NONE}
 * is plaintext. Immutable and thread-safe; {@link Transport} puts its handlers first in every
 * pipeline, so the HMAC handshake of {@link Pipelines} runs inside TLS.
 *
 * <p>A plaintext peer at a TLS port is detected rather than left to time out: a TLS client speaks
 * first (its ClientHello), a Quiver plaintext client waits for the server's challenge. So a TLS
 * server that hears nothing for {@value #PLAINTEXT_PROBE_MILLIS} ms sends that client a plaintext
 * {@code Refused} saying to enable TLS, and closes. The other way round, the plaintext server's
 * challenge is not a TLS record, which the TLS client reports at once.
 */
public final class Tls {
    /** No TLS: connections are plaintext (the HMAC handshake still authenticates them). */
    public static final Tls NONE = new Tls(null, null, "none");
    /** How long a TLS server waits for a ClientHello before telling a silent peer that it needs TLS. */
    public static final long PLAINTEXT_PROBE_MILLIS = 3_000;
    /** What every TLS mismatch error tells the user to do. */
    public static final String HOW_TO_ENABLE = "give every process of the cluster the same --tls-cert, --tls-key and"
            + " --tls-trust (clients: ConnectOptions.tls), or none of them; quiver tls-init makes them";
    private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /**
     * AEAD suites only, AES-128-GCM first: bulk data is most of what crosses a Quiver connection, and
     * it costs 10 AES rounds a block against AES-256's 14, with no practical loss of safety.
     */
    private static final List<String> CIPHERS = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");

    private final SslContext server;
    private final SslContext client;
    private final String description;

    private Tls(SslContext server, SslContext client, String description) {
        this.server = server;
        this.client = client;
        this.description = description;
    }

    /**
     * Reads a PEM certificate chain, its PKCS#8 PEM key and the PEM certificates of the trusted CA,
     * and checks them: the key must belong to the first certificate, which must be valid now.
     *
     * @param cert the certificate chain ({@code --tls-cert}), this process's certificate first
     * @param key its unencrypted PKCS#8 private key ({@code --tls-key}, "BEGIN PRIVATE KEY")
     * @param trust the CA certificates peers' certificates must be signed by ({@code --tls-trust})
     * @return the TLS identity
     * @throws QuiverException naming the file, the option and what is wrong with it
     */
    public static Tls fromPem(Path cert, Path key, Path trust) {
        if (cert == null || key == null || trust == null) {
            throw new QuiverException("TLS needs all three of --tls-cert, --tls-key and --tls-trust, got "
                    + (cert == null ? "no" : "a") + " certificate, " + (key == null ? "no" : "a") + " key and "
                    + (trust == null ? "no" : "a") + " trust file; " + HOW_TO_ENABLE);
        }
        List<X509Certificate> chain = certificates(cert, "--tls-cert");
        PrivateKey privateKey = privateKey(key);
        List<X509Certificate> trusted = certificates(trust, "--tls-trust");
        X509Certificate own = chain.get(0);
        try {
            own.checkValidity();
        } catch (CertificateException e) {
            throw new QuiverException("--tls-cert " + cert + ": the certificate of " + own.getSubjectX500Principal()
                    + " is not valid now (valid " + own.getNotBefore() + " to " + own.getNotAfter() + ", now "
                    + new Date() + "); make a new one, e.g. with quiver tls-init");
        }
        checkKeyMatches(own, privateKey, cert, key);
        try {
            SslContext server = SslContextBuilder.forServer(privateKey, chain)
                    .trustManager(trusted)
                    .clientAuth(ClientAuth.REQUIRE)
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .build();
            SslContext client = SslContextBuilder.forClient()
                    .keyManager(privateKey, chain)
                    .trustManager(trusted)
                    .endpointIdentificationAlgorithm(null) // membership is the CA's signature, not a host name
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .ciphers(CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                    .build();
            Tls tls = new Tls(server, client, own.getSubjectX500Principal().getName() + " (trusting "
                    + trusted.size() + " CA certificate" + (trusted.size() == 1 ? "" : "s") + " of " + trust + ")");
            tls.warmUp();
            return tls;
        } catch (SSLException e) {
            throw new QuiverException("cannot set up TLS with --tls-cert " + cert + ", --tls-key " + key
                    + " and --tls-trust " + trust + ": " + e.getMessage(), e);
        }
    }

    /**
     * {@link #fromPem} when all three are given, {@link #NONE} when none is.
     *
     * @throws QuiverException if only some are given, or as {@link #fromPem}
     */
    public static Tls of(Path cert, Path key, Path trust) {
        return cert == null && key == null && trust == null ? NONE : fromPem(cert, key, trust);
    }

    /** True unless this is {@link #NONE}. */
    public boolean isEnabled() {
        return server != null;
    }

    /** Whose certificate this is and what it trusts, for logs; "none" without TLS. */
    @Override
    public String toString() {
        return description;
    }

    /** The TLS engine of a server connection (after a {@link PlaintextProbe}). */
    SslHandler serverHandler(ByteBufAllocator alloc) {
        SslHandler ssl = server.newHandler(alloc);
        ssl.setHandshakeTimeoutMillis(Pipelines.HANDSHAKE_TIMEOUT_MILLIS);
        return ssl;
    }

    /** The TLS engine of a client connection to {@code host:port}. */
    SslHandler clientHandler(ByteBufAllocator alloc, String host, int port, long timeoutMillis) {
        SslHandler ssl = client.newHandler(alloc, host, port);
        ssl.setHandshakeTimeoutMillis(timeoutMillis);
        return ssl;
    }

    /**
     * A failure of a TLS connection said in words a user can act on, or null if {@code cause} is not
     * about TLS.
     *
     * @param cause what the pipeline caught
     * @param peer who the peer is, e.g. "the server at 10.0.0.3:7077"
     */
    static String describe(Throwable cause, String peer) {
        Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (t instanceof NotSslRecordException) {
            return peer + " does not speak TLS (it sent plaintext); " + HOW_TO_ENABLE;
        }
        if (t instanceof SSLException) {
            String message = t.getMessage() == null ? t.toString() : t.getMessage();
            String hint = message.contains("PKIX") || message.contains("ertificate") || message.contains("alert")
                    ? "; every process needs a certificate signed by a CA in the others' --tls-trust (the same"
                    + " cluster CA everywhere, see quiver tls-init)" : "";
            return "TLS handshake with " + peer + " failed: " + message + hint;
        }
        return null;
    }

    /** Initializes the JDK's TLS engine now, so the first connection does not pay for it. */
    private void warmUp() {
        SSLEngine engine = client.newEngine(UnpooledByteBufAllocator.DEFAULT);
        try {
            engine.beginHandshake();
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(java.nio.ByteBuffer.allocate(0), out);
        } catch (SSLException e) {
            // only a warm-up: a real failure shows on the first connection, with its peer named
        } finally {
            engine.closeOutbound();
        }
    }

    private static List<X509Certificate> certificates(Path file, String option) {
        String text = read(file, option);
        List<X509Certificate> result = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            Matcher m = PEM.matcher(text);
            while (m.find()) {
                if (!m.group(1).equals("CERTIFICATE")) {
                    continue;
                }
                byte[] der = Base64.getMimeDecoder().decode(m.group(2));
                result.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException | IllegalArgumentException e) {
            throw new QuiverException(option + " " + file + ": not a valid PEM certificate (" + e.getMessage()
                    + "); give PEM certificates (-----BEGIN CERTIFICATE-----), e.g. made by quiver tls-init");
        }
        if (result.isEmpty()) {
            throw new QuiverException(option + " " + file + " holds no PEM certificate (-----BEGIN CERTIFICATE-----);"
                    + " give the " + (option.equals("--tls-trust") ? "cluster CA's certificate, e.g. ca.pem"
                    : "process's certificate, e.g. node.pem") + " made by quiver tls-init");
        }
        return result;
    }

    private static PrivateKey privateKey(Path file) {
        String text = read(file, "--tls-key");
        Matcher m = PEM.matcher(text);
        if (!m.find()) {
            throw new QuiverException("--tls-key " + file + " holds no PEM key; give an unencrypted PKCS#8 PEM key"
                    + " (-----BEGIN PRIVATE KEY-----), e.g. node-key.pem made by quiver tls-init");
        }
        String type = m.group(1);
        if (!type.equals("PRIVATE KEY")) {
            String convert = type.equals("ENCRYPTED PRIVATE KEY") ? "decrypt it" : "convert it";
            throw new QuiverException("--tls-key " + file + " holds a '" + type + "', not an unencrypted PKCS#8 key"
                    + " ('PRIVATE KEY'); " + convert + ": openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key.pem");
        }
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new QuiverException("--tls-key " + file + ": the PEM key is not valid base64 (" + e.getMessage() + ")");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        for (String algorithm : List.of("EC", "RSA", "Ed25519", "Ed448")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new QuiverException("--tls-key " + file + ": not an EC, RSA or EdDSA PKCS#8 private key");
    }

    /** Signs a few bytes with the key and verifies them with the certificate's public key. */
    private static void checkKeyMatches(X509Certificate cert, PrivateKey key, Path certFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm(); // Ed25519, Ed448
        };
        try {
            byte[] probe = "quiver-tls-key-check".getBytes(StandardCharsets.US_ASCII);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            if (verifier.verify(signature)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // a key of another type than the certificate's: said below
        }
        throw new QuiverException("--tls-key " + keyFile + " is not the key of the certificate in --tls-cert " + certFile
                + " (" + cert.getSubjectX500Principal() + "); give the key made with that certificate");
    }

    private static String read(Path file, String option) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new QuiverException(option + " " + file + " is not a PEM file (it is binary; PEM is text starting"
                    + " with -----BEGIN); convert DER with openssl x509 -inform der, or use quiver tls-init");
        } catch (IOException e) {
            throw new QuiverException(option + " " + file + " cannot be read: " + e
                    + "; give the path of a PEM file readable by this process");
        }
    }

    /**
     * First handler of a TLS server connection: steps aside as soon as the peer sends anything; if it
     * sends nothing for {@value #PLAINTEXT_PROBE_MILLIS} ms it is a plaintext Quiver client waiting
     * for a challenge, so it gets a plaintext {@code Refused} it can read, and the connection closes.
     * Confined to the channel's event loop.
     */
    static final class PlaintextProbe extends ChannelInboundHandlerAdapter {
        static final String REASON = "this port requires TLS and the peer sent no TLS handshake; "
                + HOW_TO_ENABLE;
        private ScheduledFuture<?> timer;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            timer = ctx.executor().schedule(() -> refuse(ctx), PLAINTEXT_PROBE_MILLIS, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        private void refuse(ChannelHandlerContext ctx) {
            if (!ctx.channel().isActive() || ctx.isRemoved()) {
                return;
            }
            Message.Refused refused = new Message.Refused(REASON);
            ByteBuf frame = ctx.alloc().buffer(REASON.length() + 16);
            frame.writeInt(0).writeByte(refused.type().code);
            refused.write(frame);
            frame.setInt(0, frame.readableBytes() - 4);
            // Written from here, below the TLS engine: the peer reads it as plaintext.
            ctx.writeAndFlush(frame).addListener(f -> ctx.channel().close());
            ctx.fireExceptionCaught(new QuiverException("a plaintext client at this TLS port: it sent no TLS handshake"
                    + " within " + PLAINTEXT_PROBE_MILLIS + " ms; it was told to enable TLS"));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            timer.cancel(false);
            ctx.pipeline().remove(this);
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
            }
            ctx.fireChannelInactive();
        }
    }
}
