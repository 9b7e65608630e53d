package io.quiver.core.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.ClusterInfo;
import io.quiver.ClusterUnavailableException;
import io.quiver.ConnectOptions;
import io.quiver.Ref;
import io.quiver.RefId;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.net.Secret;
import io.quiver.core.protocol.JobRefs;
import io.quiver.core.protocol.Message;
import io.quiver.core.protocol.Message.Goodbye;
import io.quiver.core.protocol.Message.HeldRef;
import io.quiver.core.protocol.Message.Hold;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.core.protocol.Message.PutChunk;
import io.quiver.core.protocol.Message.RefDone;
import io.quiver.core.protocol.Message.RefsDone;
import io.quiver.core.protocol.Message.Release;
import io.quiver.core.protocol.Message.ScatterPlan;
import io.quiver.core.protocol.Message.ScatterRequest;
import io.quiver.core.protocol.Message.Submit;
import io.quiver.core.protocol.Message.SubmitJob;
import io.quiver.core.protocol.Message.TaskSpec;
import io.quiver.core.zk.ClusterUrl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.test.TestingServer;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client across leader changes, against a real ZooKeeper and fake leaders that speak the real
 * protocol over real sockets. Every message a leader receives is recorded and counted.
 */
class ClientFailoverTest {
    private static int clusters;

    TestingServer zkServer;
    ClusterUrl url;
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        zkServer = new TestingServer(true);
        url = ClusterUrl.parse("zk://" + zkServer.getConnectString() + "/failover-" + (++clusters));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        zkServer.close();
    }

    private static ConditionFactory waiting() {
        return await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(10));
    }

    private TestingLeaderServer server(String id, long epoch) {
        TestingLeaderServer s = new TestingLeaderServer(id, epoch, Secret.NONE).start();
        closeables.add(s);
        return s;
    }

    private QuiverClient connect(Duration failoverTimeout) {
        QuiverClient q = QuiverClient.connect(url, ConnectOptions.defaults().secret("")
                .connectTimeout(Duration.ofSeconds(10)).failoverTimeout(failoverTimeout));
        closeables.add(q);
        return q;
    }

    private static RefDone done(RefId ref, Object value) {
        return new RefDone(ref, 8, List.of("exec-1"), DefaultCodec.INSTANCE.toBytes(value), null);
    }

    private static List<RefId> outs(Submit s) {
        return s.tasks().stream().map(TaskSpec::out).toList();
    }

    private static int tasksIn(TestingLeaderServer leader) {
        return leader.all(Submit.class).stream().mapToInt(s -> s.tasks().size()).sum();
    }

    @Test
    void aNewLeaderGetsHoldThenTheJobThenTheLiveSpecsOnceAndPendingRefsCompleteFromIt() throws Exception {
        TestingLeaderServer executor = server("exec-1", 0);
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        QuiverClient q = connect(Duration.ofSeconds(30));

        // A scatter the leader places on the fake executor, which receives the chunks; then stored.
        CompletableFuture<Ref<int[]>> scattering = CompletableFuture.supplyAsync(() -> q.scatter(new int[] {1, 2, 3}));
        ScatterRequest sr = a.awaitFirst(ScatterRequest.class);
        a.send(new ScatterPlan(sr.reqId(), sr.ref(), List.of(executor.peer())));
        waiting().until(() -> !executor.all(PutChunk.class).isEmpty());
        a.send(new RefsDone(List.of(new RefDone(sr.ref(), sr.size(), List.of("exec-1"), null, null))));
        Ref<int[]> data = scattering.get(20, SECONDS);

        Ref<Integer> first = q.submit(d -> d.length, data);  // read by `second`, then released by the user
        Ref<Integer> second = q.submit(n -> n + 1, first);
        Ref<Integer> doneEarly = q.submit(() -> 7);          // done before the change, still held
        Ref<Integer> gone = q.submit(() -> 8);               // done and released: nothing to send again
        waiting().until(() -> tasksIn(a) == 4);
        a.send(new RefsDone(List.of(done(doneEarly.id(), 7), done(gone.id(), 8))));
        waiting().until(() -> doneEarly.isDone() && gone.isDone());
        gone.close();
        first.close();

        CompletableFuture<Long> counting = CompletableFuture.supplyAsync(() -> q.range(0, 10, 2).count());
        SubmitJob job = a.awaitFirst(SubmitJob.class);
        List<RefId> jobRefs = List.of(JobRefs.ref(job.job(), 0), JobRefs.ref(job.job(), 1));
        a.send(new JobReply(job.reqId(), jobRefs, List.of(), List.of(), "plan"));
        waiting().until(() -> a.all(Release.class).stream().mapToInt(r -> r.refs().size()).sum() == 2);

        AtomicInteger attemptsAtA = a.kill();
        waiting().until(() -> attemptsAtA.get() == 1); // the one retry a dropped connection gets
        Ref<Integer> queued = q.submit(() -> 9);        // made while no leader is up

        TestingLeaderServer b = server("coord-b", 2).publish(url);
        waiting().until(() -> !b.all(Message.Resume.class).isEmpty()
                && b.all(Message.Resume.class).get(b.all(Message.Resume.class).size() - 1).end());

        List<Message> resume = b.controlMessages().subList(1, b.controlMessages().size() - 1);
        assertThat(b.controlMessages().get(0)).isEqualTo(new Message.Resume(false));
        assertThat(resume).extracting(Message::type).containsExactly(
                Message.Type.HOLD, Message.Type.SUBMIT_JOB, Message.Type.SUBMIT, Message.Type.RELEASE);
        assertThat(((Hold) resume.get(0)).refs()).containsExactly(
                new HeldRef(data.id(), HeldRef.SCATTERED, sr.size(), List.of()));
        Submit resubmit = (Submit) resume.get(2);
        assertThat(outs(resubmit)).containsExactly(first.id(), second.id(), doneEarly.id(), queued.id());
        assertThat(resubmit.fns()).hasSize(4);
        SubmitJob again = (SubmitJob) resume.get(1);
        assertThat(again.job()).isEqualTo(job.job());
        assertThat(again.plan()).isEqualTo(job.plan());
        assertThat(again.explainOnly()).isFalse();
        assertThat(((Release) resume.get(3)).refs()).containsExactly(first.id());

        // The new leader answers: the job again (same refs), and every pending ref.
        b.send(new JobReply(again.reqId(), jobRefs, List.of(), List.of(), "plan"));
        b.send(new RefsDone(List.of(done(second.id(), 4), done(queued.id(), 9), done(doneEarly.id(), 7),
                done(jobRefs.get(0), 5L), done(jobRefs.get(1), 5L))));
        assertThat(second.result(Duration.ofSeconds(20))).isEqualTo(4);
        assertThat(queued.result(Duration.ofSeconds(20))).isEqualTo(9);
        assertThat(counting.get(20, SECONDS)).isEqualTo(10L);
        assertThat(doneEarly.result()).isEqualTo(7);
        assertThat(doneEarly.locations()).containsExactly("exec-1");

        // The dead address got its one retry and never another attempt.
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> attemptsAtA.get() == 1);
        assertThat(b.connectionCount()).isEqualTo(1);

        q.close();
        waiting().until(() -> !b.all(Goodbye.class).isEmpty());
        assertThat(b.received.get(b.received.size() - 1).message()).isInstanceOf(Goodbye.class);
    }

    @Test
    void aFrozenLeaderDoesNotHoldTheClientOnceANewOneIsPublished() throws Exception {
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        QuiverClient q = connect(Duration.ofSeconds(60));
        Ref<Integer> before = q.submit(() -> 1);
        waiting().until(() -> tasksIn(a) == 1);

        a.freeze(); // its socket stays open, nothing is read or answered
        Ref<Integer> during = q.submit(() -> 2);
        CompletableFuture<ClusterInfo> info = CompletableFuture.supplyAsync(q::cluster);

        TestingLeaderServer b = server("coord-b", 2).publish(url);
        Submit resubmit = b.awaitFirst(Submit.class);
        assertThat(outs(resubmit)).containsExactly(before.id(), during.id());
        b.send(new RefsDone(List.of(done(before.id(), 1), done(during.id(), 2))));
        assertThat(before.result(Duration.ofSeconds(20))).isEqualTo(1);
        assertThat(during.result(Duration.ofSeconds(20))).isEqualTo(2);
        assertThat(info.get(20, SECONDS).epoch()).isEqualTo(2); // the call went to the new leader
        assertThat(tasksIn(b)).isEqualTo(2);
    }

    @Test
    void pastTheFailoverTimeoutPendingRefsAndCallsFailSayingHowLongAndWhatWasSeen() throws Exception {
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        QuiverClient q = connect(Duration.ofSeconds(2));
        Ref<Integer> pending = q.submit(() -> 1);
        waiting().until(() -> tasksIn(a) == 1);

        long lostAt = System.nanoTime();
        a.kill(); // /leader still names it, as after a kill -9 before its session expires
        CompletableFuture<ClusterInfo> info = CompletableFuture.supplyAsync(q::cluster);

        assertThatThrownBy(() -> pending.result(Duration.ofSeconds(20)))
                .isInstanceOf(ClusterUnavailableException.class)
                .hasMessageContaining("no leader for")
                .hasMessageContaining("failoverTimeout is 2000 ms")
                .hasMessageContaining("the last leader was coord-a (epoch 1) at 127.0.0.1:" + a.port())
                .hasMessageContaining("meanwhile showed: coord-a (epoch 1)")
                .message().doesNotContainIgnoringCase("secret");
        assertThat(Duration.ofNanos(System.nanoTime() - lostAt)).isGreaterThanOrEqualTo(Duration.ofSeconds(2));
        assertThatThrownBy(() -> info.get(20, SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(ClusterUnavailableException.class);
        // After the timeout, new work fails at once rather than waiting another round.
        assertThatThrownBy(() -> q.submit(() -> 2).result(Duration.ofSeconds(5)))
                .isInstanceOf(ClusterUnavailableException.class).hasMessageContaining("no leader for");
    }

    @Test
    void aDroppedConnectionToALiveLeaderIsRetriedOnceAndResumed() throws Exception {
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        QuiverClient q = connect(Duration.ofSeconds(30));
        Ref<Integer> r = q.submit(() -> 1);
        waiting().until(() -> tasksIn(a) == 1);

        a.dropConnections();
        waiting().until(() -> a.connectionCount() == 2 && tasksIn(a) == 2);
        assertThat(a.received.stream().filter(m -> m.connection() == 2 && m.message() instanceof Submit)
                .map(m -> outs((Submit) m.message())).toList()).containsExactly(List.of(r.id()));
        a.send(new RefsDone(List.of(done(r.id(), 1))));
        assertThat(r.result(Duration.ofSeconds(20))).isEqualTo(1);
    }

    @Test
    void closeSaysGoodbyeThenClosesTheConnection() throws Exception {
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        QuiverClient q = connect(Duration.ofSeconds(30));
        q.close();
        assertThat(a.controlMessages()).extracting(Message::type).containsExactly(Message.Type.GOODBYE);
        waiting().until(() -> a.connections.stream().noneMatch(c -> c.isOpen()));
    }

    @Test
    void aDeadAddressAtConnectIsReportedAsUnreachableAndTriedOnlyTwice() throws Exception {
        TestingLeaderServer a = server("coord-a", 1).publish(url);
        AtomicInteger attempts = a.kill();
        assertThatThrownBy(() -> QuiverClient.connect(url, ConnectOptions.defaults().secret("")
                .connectTimeout(Duration.ofSeconds(2))))
                .isInstanceOf(ClusterUnavailableException.class)
                .hasMessageContaining("coord-a (epoch 1) at 127.0.0.1:" + a.port() + " did not answer")
                .message().doesNotContainIgnoringCase("secret");
        assertThat(attempts.get()).isEqualTo(2);
    }

    @Test
    void aRefusedHandshakeIsReportedAsAWrongSecret() throws Exception {
        TestingLeaderServer a = new TestingLeaderServer("coord-a", 1, Secret.of("s3cret")).start();
        closeables.add(a);
        a.publish(url);
        assertThatThrownBy(() -> QuiverClient.connect(url, ConnectOptions.defaults().secret("wrong")
                .connectTimeout(Duration.ofSeconds(10))))
                .isInstanceOf(ClusterUnavailableException.class)
                .hasMessageContaining("refused this client")
                .hasMessageContaining("pass the cluster secret");
    }
}
