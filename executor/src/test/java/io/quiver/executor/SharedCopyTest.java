package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.RefId;
import io.quiver.core.net.HostShare;
import io.quiver.core.protocol.Message.PutShared;
import io.quiver.core.protocol.Message.ShareProbeReply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real executors storing blocks from the host's one shared copy ({@link PutShared}), and refusing,
 * with a reason and on a connection that stays open, every copy they must not take.
 */
class SharedCopyTest extends ClusterTestBase {
    private static final long EPOCH = 1;

    @TempDir
    Path shm;
    String before;

    @BeforeEach
    void useTempDir() {
        before = System.getProperty("quiver.shm.dir");
        System.setProperty("quiver.shm.dir", shm.toString());
    }

    @AfterEach
    void restore() {
        if (before == null) {
            System.clearProperty("quiver.shm.dir");
        } else {
            System.setProperty("quiver.shm.dir", before);
        }
    }

    @Test
    void twoExecutorsMapOneCopyAndServeItAfterTheFileIsGone() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-a", 1);
        Executor b = startExecutor("exec-b", 1);
        leader.awaitExecutor("exec-a");
        leader.awaitExecutor("exec-b");
        byte[] block = new byte[(5 << 20) + 3];
        new Random(5).nextBytes(block);
        Path file = HostShare.newFile("blk");
        Files.write(file, block);
        RefId ref = ref();

        try (TestingClient toA = new TestingClient(a.port()); TestingClient toB = new TestingClient(b.port())) {
            toA.sendRaw(new PutShared(ref, file.toString(), block.length, TestingClient.crc(block)));
            toB.sendRaw(new PutShared(ref, file.toString(), block.length, TestingClient.crc(block)));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> leader.storedOn(ref).containsAll(List.of("exec-a", "exec-b")));
        }
        assertThat(leader.blockFailures).isEmpty();
        HostShare.delete(file);

        for (Executor e : List.of(a, b)) {
            assertThat(e.stats().memoryUsed()).as("a mapped copy counts as memory in use").isEqualTo(block.length);
            try (TestingClient client = new TestingClient(e.port())) {
                assertThat(client.fetch(ref).get(10, TimeUnit.SECONDS)).isEqualTo(block);
            }
        }
    }

    @Test
    void aCopyThatIsNotAllowedOrNotRightIsReportedAndTheConnectionStaysOpen() throws Exception {
        TestingLeader leader = startLeader("leader", EPOCH);
        Executor a = startExecutor("exec-a", 1);
        leader.awaitExecutor("exec-a");
        byte[] block = new byte[1 << 20];
        new Random(6).nextBytes(block);
        Path file = HostShare.newFile("blk");
        Files.write(file, block);
        Path outside = Files.write(workDir.resolve("passwords"), block);
        long crc = TestingClient.crc(block);

        try (TestingClient client = new TestingClient(a.port())) {
            RefId bad = ref();
            client.sendRaw(new PutShared(bad, outside.toString(), block.length, crc));
            RefId wrongSum = ref();
            client.sendRaw(new PutShared(wrongSum, file.toString(), block.length, crc ^ 1));
            RefId tooLong = ref();
            client.sendRaw(new PutShared(tooLong, file.toString(), block.length + 1, crc));
            RefId gone = ref();
            client.sendRaw(new PutShared(gone, file.getParent().resolve(
                    ProcessHandle.current().pid() + "-" + "c".repeat(32) + ".blk").toString(), block.length, crc));
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.blockFailures.size() == 4);

            assertThat(reason(leader, bad)).contains("could not map the shared copy").contains("is not a shared copy in");
            assertThat(reason(leader, wrongSum)).contains("checksum mismatch");
            assertThat(reason(leader, tooLong)).contains("not the " + (block.length + 1) + " announced");
            assertThat(reason(leader, gone)).contains("no shared copy at");
            assertThat(a.stats().blocks()).isZero();
            assertThat(a.stats().memoryUsed()).isZero();

            RefId good = ref();
            client.sendRaw(new PutShared(good, file.toString(), block.length, crc));
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(good).contains("exec-a"));
            assertThat(client.isOpen()).isTrue();
        }
    }

    @Test
    void aProbeFindsTheSameHostOnlyFromTheNonceInItsOwnDirectory() throws Exception {
        Executor a = startExecutor("exec-a", 1);
        Path probe = HostShare.newFile("probe");
        byte[] nonce = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
        Files.write(probe, nonce);
        Path elsewhere = Files.write(workDir.resolve(probe.getFileName()), nonce);

        try (TestingClient client = new TestingClient(a.port())) {
            ShareProbeReply same = client.probe(probe.toString(), nonce).get(10, TimeUnit.SECONDS);
            assertThat(same.sameHost()).isTrue();

            byte[] other = nonce.clone();
            other[0]++;
            ShareProbeReply wrong = client.probe(probe.toString(), other).get(10, TimeUnit.SECONDS);
            assertThat(wrong.sameHost()).isFalse();
            assertThat(wrong.reason()).contains("does not hold the nonce");

            ShareProbeReply outside = client.probe(elsewhere.toString(), nonce).get(10, TimeUnit.SECONDS);
            assertThat(outside.sameHost()).isFalse();
            assertThat(outside.reason()).contains("is not a shared copy in");
            assertThat(client.isOpen()).isTrue();
        }
    }

    private static String reason(TestingLeader leader, RefId ref) {
        return leader.blockFailures.stream().filter(f -> f.failure().ref().equals(ref)).findFirst()
                .orElseThrow().failure().reason();
    }
}
