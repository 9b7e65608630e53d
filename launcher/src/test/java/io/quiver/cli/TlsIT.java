package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.quiver.ConnectOptions;
import io.quiver.ExecutorInfo;
import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.core.net.Connection;
import io.quiver.core.net.HandshakeRefusedException;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Tls;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.local.LocalCluster;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 8, TLS: clusters whose every connection is mutual TLS with the certificates of
 * {@code quiver tls-init} run the demo workload and a dataset job correctly; a peer whose certificate
 * another CA signed is refused at the leader's port and at an executor's, a plaintext peer at a TLS
 * port and a TLS peer at a plaintext port are told what is wrong, and the cluster goes on serving.
 */
class TlsIT {
    private static final String SECRET = "tls-it-secret";
    @TempDir
    static Path dir;
    /** The cluster's CA and node certificate, made by the command. */
    static TlsInit.Result cluster;
    /** Another CA's: someone who has the secret but not a certificate of the cluster's CA. */
    static TlsInit.Result stranger;

    private final ListAppender<ILoggingEvent> pipelineLog = new ListAppender<>();

    @BeforeAll
    static void certificates() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Path a = dir.resolve("cluster-ca");
        int code = QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), "tls-init", a.toString(),
                "--hosts", "node1.example.com,10.0.0.3");
        assertThat(code).as("tls-init: %s %s", out, err).isZero();
        assertThat(out.toString()).contains("--tls-cert " + a.resolve("node.pem"));
        cluster = new TlsInit.Result(a, List.of());
        stranger = TlsInit.run(dir.resolve("other-ca"), List.of(), 30, false);
    }

    @BeforeEach
    void captureRefusals() {
        pipelineLog.start();
        ((Logger) LoggerFactory.getLogger(Pipelines.class)).addAppender(pipelineLog);
    }

    @AfterEach
    void stopCapturing() {
        ((Logger) LoggerFactory.getLogger(Pipelines.class)).detachAppender(pipelineLog);
    }

    @Test
    void tlsInitWritesKeysForTheOwnerOnlyAndCertificatesForEveryHostAndRefusesToOverwrite() throws Exception {
        for (String f : TlsInit.FILES) {
            assertThat(cluster.dir().resolve(f)).isRegularFile();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cluster.dir().resolve("node-key.pem"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(cluster.dir().resolve("ca-key.pem"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(cluster.key())).startsWith("-----BEGIN PRIVATE KEY-----");
        List<X509Certificate> chain = certificates(cluster.cert());
        X509Certificate ca = certificates(cluster.trust()).get(0);
        assertThat(chain).hasSize(2);
        chain.get(0).verify(ca.getPublicKey());
        List<String> names = chain.get(0).getSubjectAlternativeNames().stream().map(e -> String.valueOf(e.get(1)))
                .toList();
        assertThat(names).containsExactlyInAnyOrder("localhost", "node1.example.com", "127.0.0.1", "10.0.0.3");
        assertThat(chain.get(0).getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(ca.getBasicConstraints()).isZero(); // a CA that signs only end certificates

        String before = Files.readString(cluster.key());
        StringWriter err = new StringWriter();
        int code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "tls-init",
                cluster.dir().toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_ERROR);
        assertThat(err.toString()).contains("refusing to overwrite").contains("node-key.pem").contains("--force");
        assertThat(Files.readString(cluster.key())).isEqualTo(before);

        String strangersKey = Files.readString(stranger.key());
        code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()), "tls-init",
                stranger.dir().toString(), "--force", "--days", "30");
        assertThat(code).isZero();
        assertThat(Files.readString(stranger.key())).as("--force replaced the key").isNotEqualTo(strangersKey);

        err = new StringWriter();
        code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "tls-init",
                dir.resolve("bad-host").toString(), "--hosts", "not a host");
        assertThat(code).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("'not a host' is neither a host name nor an IP address");
    }

    @Test
    void theDemoRunsOverTlsWithChildExecutors() {
        StringWriter text = new StringWriter();
        // A child executor gets --tls-cert/--tls-key/--tls-trust on its command line; Demo.run checks every result.
        Demo.Result result = Demo.run(new Demo.Settings(1, 4, 40, 2, true, files(cluster)), new PrintWriter(text, true));
        assertThat(result.results()).isEqualTo(result.expected());
        assertThat(result.naiveResults()).isEqualTo(result.expected().subList(0, 2));
        assertThat(text.toString()).contains("over TLS");
    }

    @Test
    void aDatasetJobRunsOverTlsAndStrangersAreRefusedAtEveryPortWhileTheClusterGoesOnServing() throws Exception {
        try (LocalCluster local = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2)
                .secret(SECRET).tls(cluster.cert(), cluster.key(), cluster.trust()))) {
            try (Quiver q = local.connect()) {
                // The demo's shape in-process too: a broadcast read by many tasks, gathered.
                Ref<long[]> pinned = q.scatter(new long[] {1, 2, 3}, Scatter.broadcast());
                List<Ref<Long>> refs = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    long k = i;
                    refs.add(q.submit(a -> a[(int) (k % 3)] * k, pinned));
                }
                List<Long> expected = new ArrayList<>();
                for (long k = 0; k < 50; k++) {
                    expected.add(new long[] {1, 2, 3}[(int) (k % 3)] * k);
                }
                assertThat(q.gather(refs)).isEqualTo(expected);
                assertThat(reduceByKey(q)).isEqualTo(expectedSums());
            }

            ExecutorInfo executor;
            LeaderRecord leader;
            try (Quiver q = local.connect();
                 CuratorFramework zk = Zk.start(ClusterUrl.parse(local.zkConnectString()), Secret.of(SECRET), 10_000)) {
                executor = q.cluster().executors().get(0);
                leader = LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
            }
            // The stranger knows the secret and trusts the cluster's CA (its certificate is public), but its own
            // certificate was signed by another CA.
            Tls strangers = Tls.fromPem(stranger.cert(), stranger.key(), cluster.trust());
            try (Transport wrongCa = new Transport("tls-it-stranger", 1, strangers);
                 Transport plaintext = new Transport("tls-it-plaintext", 1)) {
                for (String port : List.of("leader " + leader.host() + ":" + leader.port(),
                        "executor " + executor.host() + ":" + executor.port())) {
                    String host = port.split(" ")[1].split(":")[0];
                    int p = Integer.parseInt(port.split(":")[1]);
                    // The secret is right: only the certificate is not the cluster's.
                    assertThatThrownBy(() -> connect(wrongCa, host, p)).as(port)
                            .isInstanceOf(QuiverException.class)
                            .hasMessageContaining("TLS handshake with the server at " + host + ":" + p + " failed")
                            .hasMessageContaining("signed by a CA in the others' --tls-trust");
                }
                // The same TLS handlers guard every server of a Transport: one plaintext peer is enough.
                assertThatThrownBy(() -> connect(plaintext, leader.host(), leader.port()))
                        .hasRootCauseInstanceOf(HandshakeRefusedException.class)
                        .hasMessageContaining("this port requires TLS")
                        .hasMessageContaining("--tls-cert, --tls-key and --tls-trust");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> refusals().size() >= 3);
            assertThat(refusals()).filteredOn(line -> line.contains("TLS handshake with the peer failed")).hasSize(2)
                    .allSatisfy(line -> assertThat(line).contains("--tls-trust"));
            assertThat(refusals()).anySatisfy(line -> assertThat(line).contains("a plaintext client at this TLS port"));

            // quiver submit --tls-*: the app's Quiver.connect() finds the files in the properties submit sets.
            Path seen = dir.resolve("submit-seen.txt");
            StringWriter err = new StringWriter();
            int code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "submit",
                    "--zk", local.zkConnectString(), "--secret-file", Files.writeString(dir.resolve("secret"), SECRET)
                            .toString(), "--tls-cert", cluster.cert().toString(), "--tls-key", cluster.key().toString(),
                    "--tls-trust", cluster.trust().toString(), "--class", SubmitApp.class.getName(),
                    jarOf(SubmitApp.class).toString(), seen.toString());
            assertThat(code).as(err.toString()).isZero();
            assertThat(Files.readString(seen)).isEqualTo("[2, 3, 4]");
            assertThat(System.getProperty(ConnectOptions.TLS_CERT_PROPERTY)).as("restored after main").isNull();

            try (Quiver q = local.connect()) {
                assertThat(q.gather(q.map(x -> x + 1, List.of(1, 2, 3)))).containsExactly(2, 3, 4);
                assertThat(reduceByKey(q)).isEqualTo(expectedSums());
                assertThat(q.cluster().executors()).hasSize(2);
            }
        }
    }

    @Test
    void localNWithTlsOptionsRunsItsWholeClusterOverTls() throws Exception {
        ConnectOptions options = ConnectOptions.defaults().secret(SECRET)
                .tls(cluster.cert(), cluster.key(), cluster.trust());
        try (Quiver q = Quiver.connect("local[2]", options)) {
            assertThat(q.gather(q.map(x -> x * 2, List.of(1, 2, 3)))).containsExactly(2, 4, 6);
            ExecutorInfo executor = q.cluster().executors().get(0);
            // Its executors' ports speak TLS only: the cluster took the connection's TLS files.
            try (Transport plaintext = new Transport("tls-it-local-plaintext", 1)) {
                assertThatThrownBy(() -> connect(plaintext, executor.host(), executor.port()))
                        .hasRootCauseInstanceOf(HandshakeRefusedException.class)
                        .hasMessageContaining("this port requires TLS");
            }
            assertThat(q.gather(q.map(x -> x + 1, List.of(1, 2, 3)))).containsExactly(2, 3, 4);
        }
    }

    @Test
    void aTlsClientAtAPlaintextPortIsToldThatThePeerDoesNotSpeakTls() {
        AtomicLong sessions = new AtomicLong();
        try (Transport server = new Transport("tls-it-plain-server", 1);
             Transport client = new Transport("tls-it-tls-client", 1,
                     Tls.fromPem(cluster.cert(), cluster.key(), cluster.trust()))) {
            int port = ((java.net.InetSocketAddress) server.bind("127.0.0.1", 0, Pipelines.server(
                    new Pipelines.ServerSpec("plain", Secret.NONE, MessageCodec.DEFAULT_MAX_FRAME, () -> 1,
                            sessions::incrementAndGet), (c, m) -> { })).localAddress()).getPort();
            assertThatThrownBy(() -> Pipelines.connect(client, "127.0.0.1", port, Secret.NONE, Role.CLIENT, "c", 0,
                    MessageCodec.DEFAULT_MAX_FRAME, 10_000, (c, m) -> { }))
                    .hasMessageContaining("the server at 127.0.0.1:" + port + " does not speak TLS")
                    .hasMessageContaining(Tls.HOW_TO_ENABLE);
            await().atMost(Duration.ofSeconds(10)).until(() -> !refusals().isEmpty());
            assertThat(refusals().get(0)).contains("the peer speaks TLS and this process does not");
        }
    }

    @Test
    void aServerWithAnotherCasCertificateIsNotTrusted() {
        AtomicLong sessions = new AtomicLong();
        try (Transport rogue = new Transport("tls-it-rogue-server", 1,
                     Tls.fromPem(stranger.cert(), stranger.key(), cluster.trust()));
             Transport client = new Transport("tls-it-tls-client", 1,
                     Tls.fromPem(cluster.cert(), cluster.key(), cluster.trust()))) {
            int port = ((java.net.InetSocketAddress) rogue.bind("127.0.0.1", 0, Pipelines.server(
                    new Pipelines.ServerSpec("rogue", Secret.of(SECRET), MessageCodec.DEFAULT_MAX_FRAME, () -> 1,
                            sessions::incrementAndGet), (c, m) -> { })).localAddress()).getPort();
            assertThatThrownBy(() -> connect(client, "127.0.0.1", port))
                    .hasRootCauseInstanceOf(io.quiver.core.net.UnprovenPeerException.class)
                    .hasMessageContaining("TLS handshake with the server at 127.0.0.1:" + port + " failed")
                    .hasMessageContaining("PKIX");
            assertThat(sessions.get()).as("no session was opened").isZero();
        }
    }

    @Test
    void badTlsFilesAreUsageErrorsNamingTheFile() throws Exception {
        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello\n");
        StringWriter err = new StringWriter();
        int code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "executor",
                "--zk", "zk://127.0.0.1:1/quiver", "--slots", "1", "--memory", "16m",
                "--tls-cert", cluster.cert().toString(), "--tls-key", notPem.toString(), "--tls-trust",
                cluster.trust().toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--tls-key " + notPem + " holds no PEM key");

        err = new StringWriter();
        code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "coordinator",
                "--zk", "zk://127.0.0.1:1/quiver", "--tls-cert", cluster.cert().toString(), "--tls-key",
                stranger.key().toString(), "--tls-trust", cluster.trust().toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("is not the key of the certificate in --tls-cert " + cluster.cert());

        err = new StringWriter();
        code = QuiverCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err, true), "coordinator",
                "--zk", "zk://127.0.0.1:1/quiver", "--tls-cert", cluster.cert().toString());
        assertThat(code).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("TLS needs all three of --tls-cert, --tls-key and --tls-trust");
    }

    private static Connection connect(Transport transport, String host, int port) {
        return Pipelines.connect(transport, host, port, Secret.of(SECRET), Role.CLIENT, "stranger", 0,
                MessageCodec.DEFAULT_MAX_FRAME, 15_000, (c, m) -> { });
    }

    private List<String> refusals() {
        return pipelineLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("refusing connection")).collect(Collectors.toList());
    }

    private static Map<Integer, Long> reduceByKey(Quiver q) {
        Map<Integer, Long> got = new TreeMap<>();
        for (KV<Integer, Long> kv : q.range(0, 100_000, 8).mapToPair(x -> KV.of((int) (x % 10), x))
                .reduceByKey(Long::sum).collect()) {
            got.put(kv.key(), kv.value());
        }
        return got;
    }

    private static Map<Integer, Long> expectedSums() {
        Map<Integer, Long> sums = new TreeMap<>();
        for (long x = 0; x < 100_000; x++) {
            sums.merge((int) (x % 10), x, Long::sum);
        }
        return sums;
    }

    private static ConnectOptions.TlsFiles files(TlsInit.Result r) {
        return new ConnectOptions.TlsFiles(r.cert(), r.key(), r.trust());
    }

    private static List<X509Certificate> certificates(Path pem) throws Exception {
        return CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(pem))).stream()
                .map(c -> (X509Certificate) c).toList();
    }

    /** The main of the app {@code quiver submit} runs in the test above. */
    public static final class SubmitApp {
        /**
         * Connects as any app does and writes a result to the file named by its argument.
         *
         * @param args the file to write
         * @throws Exception if it cannot
         */
        public static void main(String[] args) throws Exception {
            try (Quiver q = Quiver.connect()) {
                Files.writeString(Path.of(args[0]), String.valueOf(q.gather(q.map(x -> x + 1, List.of(1, 2, 3)))));
            }
        }
    }

    /** A jar holding {@code app}'s class file, as an app jar for {@code quiver submit}. */
    private static Path jarOf(Class<?> app) throws Exception {
        String entry = app.getName().replace('.', '/') + ".class";
        Path jar = dir.resolve("app.jar");
        try (java.io.InputStream in = app.getClassLoader().getResourceAsStream(entry);
             java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new java.util.jar.JarEntry(entry));
            out.write(in.readAllBytes());
            out.closeEntry();
        }
        return jar;
    }
}
