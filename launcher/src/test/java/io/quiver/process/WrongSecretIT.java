package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.quiver.QuiverException;
import io.quiver.core.net.Pipelines;
import io.quiver.core.net.Secret;
import io.quiver.core.net.Transport;
import io.quiver.core.protocol.Message.Role;
import io.quiver.core.protocol.MessageCodec;
import io.quiver.core.zk.ClusterUrl;
import io.quiver.core.zk.Records.LeaderRecord;
import io.quiver.core.zk.Zk;
import io.quiver.core.zk.ZkPaths;
import io.quiver.local.LocalCluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Safe defaults with real processes: an executor in a child JVM with the wrong secret stops with a
 * message that says so (ZooKeeper's digest ACLs already refuse it), instead of retrying forever; the
 * refusing leader's warnings stay bounded however often a peer retries; {@code quiver zookeeper} listens on loopback without a secret.
 */
class WrongSecretIT {
    @TempDir
    Path dir;

    private final ListAppender<ILoggingEvent> pipelineLog = new ListAppender<>();
    private final List<Process> children = new ArrayList<>();

    @BeforeEach
    void captureTheRefusingSide() {
        pipelineLog.start();
        ((Logger) LoggerFactory.getLogger(Pipelines.class)).addAppender(pipelineLog);
    }

    @AfterEach
    void stop() {
        ((Logger) LoggerFactory.getLogger(Pipelines.class)).detachAppender(pipelineLog);
        children.forEach(Process::destroyForcibly);
    }

    private long refusalWarnings() {
        return pipelineLog.list.stream().filter(e -> e.getFormattedMessage().startsWith("refusing connection")).count();
    }

    /** Runs {@code quiver <args>} in a child JVM (under the test watchdog); output merged into one stream. */
    private Process quiver(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), TestingChildMain.class.getName(),
                Long.toString(ProcessHandle.current().pid())));
        cmd.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true);
        builder.environment().remove("QUIVER_SECRET");
        builder.environment().remove("QUIVER_SECRET_FILE");
        Process p = builder.start();
        children.add(p);
        return p;
    }

    private static CompletableFuture<String> output(Process p) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "cannot read the child's output: " + e;
            }
        });
    }

    @Test
    void anExecutorWithTheWrongSecretExitsSayingSoBeforeItTouchesTheCluster() throws Exception {
        Path wrong = Files.writeString(dir.resolve("wrong-secret"), "not-the-secret\n");
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).secret("the-secret"))) {
            Process executor = quiver("executor", "--zk", cluster.zkConnectString(), "--id", "exec-wrong", "--slots", "1",
                    "--memory", "64m", "--secret-file", wrong.toString());
            CompletableFuture<String> output = output(executor);
            assertThat(executor.waitFor(60, TimeUnit.SECONDS)).as("the executor exits by itself").isTrue();
            String printed = output.get(10, TimeUnit.SECONDS);
            assertThat(executor.exitValue()).as(printed).isEqualTo(1);
            // ZooKeeper stops it first: the cluster's znodes are closed to another secret.
            assertThat(printed).contains("quiver executor: ZooKeeper at ")
                    .contains("refuses this process the cluster " + cluster.zkConnectString())
                    .contains("wrong or missing cluster secret")
                    .contains("--secret-file FILE", "QUIVER_SECRET_FILE", "QUIVER_SECRET");
            assertThat(cluster.executorIds()).doesNotContain("exec-wrong");
        }
    }

    @Test
    void aPeerThatKeepsRetryingLeavesABoundedNumberOfWarnings() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(1).secret("the-secret"));
             CuratorFramework zk = Zk.start(ClusterUrl.parse(cluster.zkConnectString()), Secret.of("the-secret"), 10_000);
             Transport transport = new Transport("wrong-peer", 1)) {
            LeaderRecord leader = LeaderRecord.parse(zk.getData().forPath(ZkPaths.LEADER));
            int refused = 0;
            for (int i = 0; i < 40; i++) {
                try {
                    Pipelines.connect(transport, leader.host(), leader.port(), Secret.of("wrong"), Role.EXECUTOR,
                            "exec-retrying", 0, MessageCodec.DEFAULT_MAX_FRAME, 5_000, (c, m) -> { }).close();
                } catch (QuiverException e) {
                    assertThat(e).hasMessageContaining("wrong or missing cluster secret");
                    refused++;
                }
            }
            assertThat(refused).isEqualTo(40);
            assertThat(refusalWarnings()).as("40 refusals within a minute").isEqualTo(3);
            assertThat(pipelineLog.list.get(2).getFormattedMessage()).contains("counted, not logged");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void zookeeperListensOnLoopbackWithoutASecretAndRefusesAllInterfaces() throws Exception {
        Process zk = quiver("zookeeper", "--port", "0");
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(zk.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            String listening = null;
            while (listening == null && (line = lines.readLine()) != null) {
                if (line.startsWith("ZooKeeper listening on ")) {
                    listening = line;
                }
            }
            assertThat(listening).startsWith("ZooKeeper listening on 127.0.0.1:");
        }
        zk.destroy();

        Process open = quiver("zookeeper", "--port", "0", "--host", "0.0.0.0");
        CompletableFuture<String> output = output(open);
        assertThat(open.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(open.exitValue()).isEqualTo(2);
        assertThat(output.get(10, TimeUnit.SECONDS)).contains("--host 0.0.0.0 is not a loopback address")
                .contains("--secret-file");
    }
}
