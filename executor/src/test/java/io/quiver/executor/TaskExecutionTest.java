package io.quiver.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.RefId;
import io.quiver.core.protocol.Message.BlockInfo;
import io.quiver.core.protocol.Message.Register;
import io.quiver.core.codec.JavaSerialization.MissingClassException;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.Drop;
import io.quiver.core.protocol.Message.Failure;
import io.quiver.core.protocol.Message.FnDef;
import io.quiver.core.protocol.Message.TaskLaunch;
import io.quiver.core.protocol.Message.TaskResult;
import java.net.URL;
import java.net.URLClassLoader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class TaskExecutionTest extends ClusterTestBase {
    private static final long EPOCH = 4;

    private TestingLeader leader;

    private Executor executor(String id, int slots) throws Exception {
        if (leader == null) {
            leader = startLeader("leader", EPOCH);
        }
        Executor e = startExecutor(id, slots);
        leader.awaitExecutor(id);
        return e;
    }

    @Test
    void runsATaskAndReportsItsResultInline() throws Exception {
        Executor e = executor("exec-1", 1);
        RefId out = ref();
        leader.send("exec-1", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(out, 1, value(41)))));
        TaskResult r = leader.awaitResult(out);
        assertThat(r.failure()).isNull();
        assertThat(decode(r.inline())).isEqualTo(42);
        assertThat(r.outputs()).extracting(b -> b.ref()).containsExactly(out);
        assertThat(r.outputs().get(0).size()).isEqualTo(r.inline().length);
        assertThat(e.store().contains(out)).isTrue();
        assertThat(e.stats().tasksRun()).isEqualTo(1);
    }

    @Test
    void deserializesEachFunctionOncePerExecutor() throws Exception {
        Executor e = executor("exec-fn", 2);
        int before = Fns.AddOne.DESERIALIZED.get();
        List<TaskLaunch> tasks = new ArrayList<>();
        List<RefId> outs = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            RefId out = ref();
            outs.add(out);
            tasks.add(task(out, 9, value(i)));
        }
        FnDef def = fn(9, new Fns.AddOne());
        leader.send("exec-fn", launch(EPOCH, List.of(def), tasks.subList(0, 50)));
        leader.send("exec-fn", launch(EPOCH, List.of(def), tasks.subList(50, 100))); // resent: kept, not redone
        for (int i = 0; i < 100; i++) {
            assertThat(decode(leader.awaitResult(outs.get(i)).inline())).isEqualTo(i + 1);
        }
        assertThat(e.stats().functionsDeserialized()).isEqualTo(1);
        assertThat(Fns.AddOne.DESERIALIZED.get() - before).isEqualTo(1);
        assertThat(leader.batches.size()).as("results travel in batches").isLessThanOrEqualTo(100);

        // Dropped, the function is forgotten: a later task naming it fails clearly.
        leader.send("exec-fn", new Drop(EPOCH, List.of(), List.of(9L)));
        RefId late = ref();
        leader.send("exec-fn", launch(EPOCH, List.of(), List.of(task(late, 9, value(1)))));
        assertThat(leader.awaitResult(late).failure().message()).contains("function 9 is unknown on executor exec-fn");
    }

    @Test
    void tinyTasksAreToldInBatchesAndALongTaskHoldsBackNoneOfTheEndsBeforeIt() throws Exception {
        executor("exec-batch", 1);
        Fns.Blocking.started = new java.util.concurrent.CountDownLatch(1);
        Fns.Blocking.release = new java.util.concurrent.CountDownLatch(1);
        List<TaskLaunch> tasks = new ArrayList<>();
        List<RefId> tiny = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            RefId out = ref();
            tiny.add(out);
            tasks.add(task(out, 21, value(i)));
        }
        RefId blocking = ref();
        tasks.add(task(blocking, 22, value(0)));
        int before = leader.batches.size();
        leader.send("exec-batch", launch(EPOCH, List.of(fn(21, new Fns.AddOne()), fn(22, new Fns.Blocking())), tasks));
        assertThat(Fns.Blocking.started.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        // The long task is running and holds its worker: every tiny task before it is told anyway.
        for (int i = 0; i < tiny.size(); i++) {
            assertThat(decode(leader.awaitResult(tiny.get(i)).inline())).isEqualTo(i + 1);
        }
        assertThat(leader.results).doesNotContainKey(blocking);
        int frames = leader.batches.size() - before;
        assertThat(frames).as("frames for 200 tiny tasks on one slot").isLessThanOrEqualTo(200 / 8);
        Fns.Blocking.release.countDown();
        assertThat(leader.awaitResult(blocking).failure()).isNull();
        // Each result arrived once.
        long told = leader.batches.stream().skip(before).mapToLong(b -> b.results().size()).sum();
        assertThat(told).isEqualTo(201);
    }

    @Test
    void aFunctionShippedAsABlockIsResolvedLikeAnInput() throws Exception {
        Executor e = executor("exec-fnblock", 1);
        RefId fnBlock = ref();
        RefId out = ref();
        // The block arrives after the launch: the task waits for it like for any input.
        leader.send("exec-fnblock", launch(EPOCH, List.of(new FnDef(11, null, fnBlock)), List.of(task(out, 11, value(1)))));
        await().atMost(Duration.ofSeconds(10)).until(() -> e.stats().queued() == 1);
        try (TestingClient client = new TestingClient(e.port())) {
            client.put(fnBlock, fn(11, new Fns.AddOne()).bytes(), List.of());
        }
        assertThat(decode(leader.awaitResult(out).inline())).isEqualTo(2);
        assertThat(e.stats().functionsDeserialized()).isEqualTo(1);
    }

    @Test
    void decodesABroadcastOnceForTwoHundredTasks() throws Exception {
        Executor e = executor("exec-b", 2);
        RefId broadcast = ref();
        double[] data = new double[1 << 20]; // 8 MiB
        java.util.Arrays.fill(data, 0.5);
        try (TestingClient client = new TestingClient(e.port())) {
            client.put(broadcast, encode(data), List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(broadcast).contains("exec-b"));
        }
        List<TaskLaunch> tasks = new ArrayList<>();
        List<RefId> outs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            RefId out = ref();
            outs.add(out);
            tasks.add(task(out, 3, Arg.ref(broadcast), value(i)));
        }
        leader.send("exec-b", launch(EPOCH, List.of(fn(3, new Fns.SumPlus())), tasks));
        for (int i = 0; i < 200; i++) {
            TaskResult r = leader.awaitResult(outs.get(i));
            assertThat(r.failure()).isNull();
            assertThat(decode(r.inline())).isEqualTo(data.length * 0.5 + i);
        }
        assertThat(e.stats().deserializations(broadcast)).isEqualTo(1);
        assertThat(e.stats().tasksRun()).isEqualTo(200);
    }

    @Test
    void runsAChainSentAheadWithoutFurtherLaunches() throws Exception {
        Executor e = executor("exec-chain", 1);
        List<TaskLaunch> chain = new ArrayList<>();
        RefId previous = null;
        RefId last = null;
        for (int i = 0; i < 300; i++) {
            RefId out = ref();
            chain.add(previous == null ? task(out, 5, value(0)) : task(out, 5, Arg.ref(previous)));
            previous = out;
            last = out;
        }
        leader.send("exec-chain", launch(EPOCH, List.of(fn(5, new Fns.AddOne())), chain));
        TaskResult r = leader.awaitResult(last);
        assertThat(r.failure()).isNull();
        assertThat(decode(r.inline())).isEqualTo(300);
        assertThat(leader.results).hasSize(300);
        assertThat(e.stats().tasksRun()).isEqualTo(300);
        // Each link reads its input as the live value the previous task returned: nothing decoded.
        assertThat(e.stats().decodes()).isEmpty();
    }

    @Test
    void aChainRunsBackToBackOnOneWorkerWithoutItsLoop() throws Exception {
        Executor e = executor("exec-links", 1);
        Fns.Blocking.started = new CountDownLatch(1);
        Fns.Blocking.release = new CountDownLatch(1);
        RefId head = ref();
        List<TaskLaunch> chain = new ArrayList<>(List.of(task(head, 22, value(0))));
        List<RefId> links = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            RefId out = ref();
            chain.add(task(out, 23, Arg.ref(i == 0 ? head : links.get(i - 1))));
            links.add(out);
        }
        int before = leader.batches.size();
        leader.send("exec-links", launch(EPOCH, List.of(fn(22, new Fns.Blocking()), fn(23, new Fns.Echo())), chain));
        assertThat(Fns.Blocking.started.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        runsAttachedLinksWhileTheLoopIsBusy(e, links);
        assertThat(leader.batches.stream().skip(before).mapToLong(b -> b.results().size()).sum())
                .as("each told once").isEqualTo(101);
        assertThat(e.stats().tasksRun()).isEqualTo(101);
    }

    /**
     * With the head of {@code links}' chain running: holds the executor loop, lets the head end, and
     * sees the links attached to it run and be told all the same, and the next wait for the loop.
     */
    private void runsAttachedLinksWhileTheLoopIsBusy(Executor e, List<RefId> links) throws Exception {
        // Handed out: the head and its attached links; waiting: the rest.
        await().atMost(Duration.ofSeconds(10)).until(() -> e.stats().queued() == links.size() - TaskSlots.MAX_ATTACHED);
        CountDownLatch busy = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(1);
        e.loop().execute(() -> {
            holding.countDown();
            try {
                busy.await(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(holding.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Fns.Blocking.release.countDown();
        RefId lastAttached = links.get(TaskSlots.MAX_ATTACHED - 1);
        assertThat(decode(leader.awaitResult(lastAttached).inline())).isEqualTo(e.id());
        assertThat(leader.results).as("the link after the attached ones waits for the loop")
                .doesNotContainKey(links.get(TaskSlots.MAX_ATTACHED));
        busy.countDown();
        for (RefId link : links) {
            assertThat(decode(leader.awaitResult(link).inline())).isEqualTo(e.id());
        }
    }

    @Test
    void chainsOnTwoWorkersTellEachLinkAfterItsProducerAndCancelledLinksBreakTheirChain() throws Exception {
        Executor e = executor("exec-two", 3); // two for the chains, one for a probe
        Fns.Blocking.started = new CountDownLatch(2);
        Fns.Blocking.release = new CountDownLatch(1);
        List<TaskLaunch> tasks = new ArrayList<>();
        List<List<RefId>> chains = List.of(new ArrayList<>(), new ArrayList<>());
        for (List<RefId> chain : chains) {
            RefId head = ref();
            chain.add(head);
            tasks.add(task(head, 22, value(0)));
        }
        for (int i = 1; i <= 150; i++) {
            for (List<RefId> chain : chains) {
                RefId out = ref();
                tasks.add(task(out, 23, Arg.ref(chain.get(i - 1))));
                chain.add(out);
            }
        }
        int before = leader.batches.size();
        leader.send("exec-two", launch(EPOCH, List.of(fn(22, new Fns.Blocking()), fn(23, new Fns.Echo())), tasks));
        assertThat(Fns.Blocking.started.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        // Cancelled while attached, link 10 of the second chain fails as it starts, and its dependants with it.
        leader.send("exec-two", new io.quiver.core.protocol.Message.CancelTasks(EPOCH, List.of(chains.get(1).get(10))));
        // A task sent after the cancel, run by the free worker: once it is told, the cancel was seen.
        RefId probe = ref();
        leader.send("exec-two", launch(EPOCH, List.of(), List.of(task(probe, 23, value(1)))));
        leader.awaitResult(probe);
        Fns.Blocking.release.countDown();
        for (RefId link : chains.get(0)) {
            assertThat(leader.awaitResult(link).failure()).isNull();
        }
        Failure cancelled = leader.awaitResult(chains.get(1).get(10)).failure();
        assertThat(cancelled.type()).isEqualTo(java.util.concurrent.CancellationException.class.getName());
        for (int i = 0; i < chains.get(1).size(); i++) {
            TaskResult r = leader.awaitResult(chains.get(1).get(i));
            if (i < 10) {
                assertThat(r.failure()).as("link %s", i).isNull();
            } else {
                assertThat(r.failure()).as("link %s", i).isEqualTo(cancelled);
            }
        }
        List<RefId> told = new ArrayList<>();
        leader.batches.stream().skip(before).forEach(b -> b.results().forEach(r -> told.add(r.task())));
        told.remove(probe);
        assertThat(told).as("each told once").doesNotHaveDuplicates().hasSize(302);
        for (List<RefId> chain : chains) {
            for (int i = 1; i < chain.size(); i++) {
                assertThat(told.indexOf(chain.get(i))).as("link %s told after its producer", i)
                        .isGreaterThan(told.indexOf(chain.get(i - 1)));
            }
        }
        assertThat(e.stats().tasksRun()).as("the second chain's links after the cancelled one never ran")
                .isEqualTo(151 + 11 + 1);
    }

    @Test
    void aLinkThatThrowsFailsTheLinksAttachedAfterItWithoutRunningThem() throws Exception {
        Executor e = executor("exec-break", 1);
        List<TaskLaunch> chain = new ArrayList<>();
        List<RefId> links = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            RefId out = ref();
            int fn = i == 40 ? 6 : 5;
            chain.add(i == 0 ? task(out, fn, value(0)) : task(out, fn, Arg.ref(links.get(i - 1))));
            links.add(out);
        }
        int before = leader.batches.size();
        leader.send("exec-break", launch(EPOCH, List.of(fn(5, new Fns.AddOne()), fn(6, new Fns.Throws())), chain));
        Failure f = leader.awaitResult(links.get(40)).failure();
        assertThat(f.message()).isEqualTo("boom 40");
        for (int i = 0; i < 40; i++) {
            assertThat(decode(leader.awaitResult(links.get(i)).inline())).isEqualTo(i + 1);
        }
        for (int i = 41; i < 100; i++) {
            assertThat(leader.awaitResult(links.get(i)).failure()).as("link %s", i).isEqualTo(f);
        }
        assertThat(e.stats().tasksRun()).as("links 0-40 ran, none after the one that threw").isEqualTo(41);
        await().atMost(Duration.ofSeconds(10)).until(() -> leader.batches.stream().skip(before)
                .mapToLong(b -> b.results().size()).sum() >= 100);
        assertThat(leader.batches.stream().skip(before).mapToLong(b -> b.results().size()).sum())
                .as("each link told once").isEqualTo(100);

        // A dependant launched after the chain broke fails the same way.
        RefId late = ref();
        leader.send("exec-break", launch(EPOCH, List.of(), List.of(task(late, 5, Arg.ref(links.get(99))))));
        assertThat(leader.awaitResult(late).failure()).isEqualTo(f);
    }

    @Test
    void linksLaunchedWhileTheirProducerRunsAreAttachedToIt() throws Exception {
        Executor e = executor("exec-late", 1);
        Fns.Blocking.started = new CountDownLatch(1);
        Fns.Blocking.release = new CountDownLatch(1);
        RefId head = ref();
        leader.send("exec-late", launch(EPOCH, List.of(fn(22, new Fns.Blocking()), fn(23, new Fns.Echo())),
                List.of(task(head, 22, value(0)))));
        assertThat(Fns.Blocking.started.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        List<TaskLaunch> rest = new ArrayList<>();
        List<RefId> links = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            RefId out = ref();
            rest.add(task(out, 23, Arg.ref(i == 0 ? head : links.get(i - 1))));
            links.add(out);
        }
        leader.send("exec-late", launch(EPOCH, List.of(), rest));
        runsAttachedLinksWhileTheLoopIsBusy(e, links);
        assertThat(e.stats().tasksRun()).isEqualTo(101);
    }

    @Test
    void aThrowingTaskReportsItsFailureAndItsDependantsFailTheSameWay() throws Exception {
        executor("exec-t", 1);
        RefId thrower = ref();
        RefId dependant = ref();
        RefId grandchild = ref();
        RefId unrelated = ref();
        leader.send("exec-t", launch(EPOCH, List.of(fn(1, new Fns.Throws()), fn(2, new Fns.AddOne())), List.of(
                task(thrower, 1, value("x")),
                task(dependant, 2, Arg.ref(thrower)),
                task(grandchild, 2, Arg.ref(dependant)),
                task(unrelated, 2, value(1)))));
        Failure f = leader.awaitResult(thrower).failure();
        assertThat(f.kind()).isEqualTo(Failure.TASK);
        assertThat(f.type()).isEqualTo(IllegalArgumentException.class.getName());
        assertThat(f.message()).isEqualTo("boom x");
        assertThat(f.stack()).contains("IllegalArgumentException: boom x").contains("Fns$Throws.run");
        assertThat(f.executorId()).isEqualTo("exec-t");
        assertThat(f.attempts()).isEqualTo(1);
        assertThat(leader.awaitResult(dependant).failure()).isEqualTo(f);
        assertThat(leader.awaitResult(grandchild).failure()).isEqualTo(f);
        assertThat(decode(leader.awaitResult(unrelated).inline())).isEqualTo(2);

        // A dependant launched after the failure fails too.
        RefId late = ref();
        leader.send("exec-t", launch(EPOCH, List.of(), List.of(task(late, 2, Arg.ref(dependant)))));
        assertThat(leader.awaitResult(late).failure()).isEqualTo(f);
    }

    @Test
    void aClassMissingOnTheExecutorFailsTheTaskNamingIt() throws Exception {
        leader = startLeader("leader", EPOCH);
        ClassLoader bare = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader());
        startExecutor(config("exec-m", 1, 1 << 20, bare));
        leader.awaitExecutor("exec-m");
        RefId out = ref();
        leader.send("exec-m", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(out, 1, value(1)))));
        Failure f = leader.awaitResult(out).failure();
        assertThat(f.type()).isEqualTo(MissingClassException.class.getName());
        assertThat(f.message()).contains(Fns.AddOne.class.getName()).contains("--classpath");
    }

    @Test
    void fetchesAnInputFromThePeerThatHasIt() throws Exception {
        Executor a = executor("exec-src", 1);
        Executor b = executor("exec-dst", 1);
        RefId input = ref();
        double[] data = new double[300_000]; // 2.4 MB: three chunks
        java.util.Arrays.fill(data, 2.0);
        byte[] encoded = encode(data);
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(input, encoded, List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(input).contains("exec-src"));
        }
        RefId out = ref();
        leader.send("exec-dst", launch(EPOCH, List.of(fn(1, new Fns.SumPlus())),
                List.of(task(out, 1, Arg.ref(input).withLocations(List.of(peer(a))), value(1)))));
        assertThat(decode(leader.awaitResult(out).inline())).isEqualTo(600_001.0);
        assertThat(b.stats().bytesFetched()).isEqualTo(encoded.length);
        await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(input).contains("exec-dst"));
        assertThat(b.store().contains(input)).isTrue();

        // No location can serve it: the task fails as a failed fetch (the leader then runs it again
        // once the input is back, or fails it as lost).
        RefId missing = ref();
        RefId out2 = ref();
        leader.send("exec-dst", launch(EPOCH, List.of(), List.of(task(out2, 1,
                Arg.ref(missing).withLocations(List.of(peer(a))), value(1)))));
        Failure f = leader.awaitResult(out2).failure();
        assertThat(f.kind()).isEqualTo(Failure.FETCH);
        assertThat(f.message()).contains(missing.toString()).contains("exec-src");
    }

    @Test
    void aReduceTaskFetchesItsBucketsOfRemoteMapOutputsInOneRequestAndCutsLocalOnesInPlace() throws Exception {
        Executor a = executor("exec-maps", 1);
        Executor b = executor("exec-reduce", 1);
        RefId m1 = ref();
        RefId m2 = ref();
        RefId m3 = ref();
        try (TestingClient toA = new TestingClient(a.port()); TestingClient toB = new TestingClient(b.port())) {
            toA.put(m1, encode(mapOutput("a")), List.of());
            toA.put(m2, encode(mapOutput("b")), List.of());
            toB.put(m3, encode(mapOutput("c")), List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> a.store().contains(m1) && a.store().contains(m2)
                    && b.store().contains(m3));
        }
        long before = b.stats().fetchRequests();
        RefId out = ref();
        leader.send("exec-reduce", launch(EPOCH, List.of(fn(1, new Fns.BucketRows())), List.of(task(out, 1, value(2),
                Arg.slice(m1, 2).withLocations(List.of(peer(a))), Arg.slice(m2, 2).withLocations(List.of(peer(a))),
                Arg.slice(m3, 2).withLocations(List.of(peer(b)))))));
        TaskResult r = leader.awaitResult(out);
        assertThat(r.failure()).isNull();
        assertThat(decode(r.inline())).isEqualTo("S[a2, a2]S[b2, b2]S[c2, c2]");
        assertThat(b.stats().fetchRequests() - before).as("one request for both slices held by exec-maps").isEqualTo(1);
        assertThat(b.store().contains(m1)).as("the map output itself was not fetched").isFalse();

        // A map output that its holder lost fails the task as a failed fetch, as for a whole block.
        RefId lost = ref();
        RefId out2 = ref();
        leader.send("exec-reduce", launch(EPOCH, List.of(), List.of(task(out2, 1, value(0),
                Arg.slice(m1, 0).withLocations(List.of(peer(a))), Arg.slice(lost, 0).withLocations(List.of(peer(a)))))));
        Failure f = leader.awaitResult(out2).failure();
        assertThat(f.kind()).isEqualTo(Failure.FETCH);
        assertThat(f.message()).contains(lost.toString()).contains("exec-maps");
    }

    /** A map output of four buckets; bucket b holds two rows named {@code prefix + b}, bucket 1 none. */
    private static io.quiver.core.plan.ShuffleOutput mapOutput(String prefix) {
        Object[] buckets = new Object[4];
        int[] rows = new int[4];
        for (int b = 0; b < 4; b++) {
            if (b != 1) {
                buckets[b] = new Object[] {prefix + b, prefix + b};
                rows[b] = 2;
            }
        }
        return io.quiver.core.plan.ShuffleOutput.of(0, buckets, rows);
    }

    @Test
    void aFailedFetchHereIsNotTheFateOfTheBlockMadeAgainElsewhere() throws Exception {
        Executor a = executor("exec-made", 1);
        executor("exec-fetchfail", 1);
        RefId input = ref();
        RefId mid = ref();
        // mid fails here: its input is nowhere yet (the leader sees a failed fetch and runs it again).
        leader.send("exec-fetchfail", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(mid, 1,
                Arg.ref(input).withLocations(List.of(peer(a)))))));
        assertThat(leader.awaitResult(mid).failure().kind()).isEqualTo(Failure.FETCH);

        // mid runs again on exec-made, where its input now is.
        try (TestingClient client = new TestingClient(a.port())) {
            client.put(input, encode(10), List.of());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> leader.storedOn(input).contains("exec-made"));
        leader.results.remove(mid);
        leader.send("exec-made", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(mid, 1, Arg.ref(input)))));
        assertThat(decode(leader.awaitResult(mid).inline())).isEqualTo(11);

        // A reader of mid on exec-fetchfail, told where mid is, fetches it: the failure remembered
        // from mid's earlier attempt there is not mid's outcome.
        RefId reader = ref();
        leader.send("exec-fetchfail", launch(EPOCH, List.of(), List.of(task(reader, 1,
                Arg.ref(mid).withLocations(List.of(peer(a)))))));
        TaskResult r = leader.awaitResult(reader);
        assertThat(r.failure()).isNull();
        assertThat(decode(r.inline())).isEqualTo(12);
    }

    @Test
    void awaitsAnInputThatArrivesByPut() throws Exception {
        Executor e = executor("exec-await", 1);
        RefId input = ref();
        RefId out = ref();
        leader.send("exec-await", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(out, 1, Arg.ref(input)))));
        await().atMost(Duration.ofSeconds(10)).until(() -> e.stats().queued() == 1);
        try (TestingClient client = new TestingClient(e.port())) {
            client.put(input, encode(10), List.of());
        }
        assertThat(decode(leader.awaitResult(out).inline())).isEqualTo(11);
    }

    @Test
    void multipleOutputsAreStoredAndLargeOnesAreNotInline() throws Exception {
        Executor e = executor("exec-multi", 1);
        RefId o1 = ref();
        RefId o2 = ref();
        leader.send("exec-multi", launch(EPOCH, List.of(fn(1, new Fns.Echo())),
                List.of(new TaskLaunch(List.of(o1, o2), 1, List.of(value("v"))))));
        TaskResult r = leader.awaitResult(o1);
        assertThat(r.inline()).isNull();
        assertThat(r.outputs()).extracting(b -> b.ref()).containsExactly(o1, o2);
        assertThat(e.store().contains(o2)).isTrue();

        RefId big = ref();
        leader.send("exec-multi", launch(EPOCH, List.of(fn(2, new Fns.Fill())), List.of(task(big, 2, value(100_000)))));
        TaskResult rb = leader.awaitResult(big);
        assertThat(rb.inline()).isNull();
        assertThat(rb.outputs().get(0).size()).isEqualTo(800_005);
    }

    @Test
    void dropFreesMemoryAndReportsStatusAtOnce() throws Exception {
        Executor e = executor("exec-drop", 1);
        RefId big = ref();
        leader.send("exec-drop", launch(EPOCH, List.of(fn(2, new Fns.Fill())), List.of(task(big, 2, value(100_000)))));
        leader.awaitResult(big);
        assertThat(e.stats().memoryUsed()).isEqualTo(800_005);
        int statuses = leader.statuses.size();
        leader.send("exec-drop", new Drop(EPOCH, List.of(big), List.of()));
        await().atMost(Duration.ofSeconds(10)).until(() -> leader.statuses.size() > statuses
                && leader.statuses.get(leader.statuses.size() - 1).memoryUsed() == 0);
        assertThat(e.store().contains(big)).isFalse();
    }

    @Test
    void refusesLaunchAndDropWithAnOlderEpoch() throws Exception {
        Executor e = executor("exec-fence", 1);
        RefId kept = ref();
        leader.send("exec-fence", launch(EPOCH, List.of(fn(1, new Fns.AddOne())), List.of(task(kept, 1, value(1)))));
        leader.awaitResult(kept);

        RefId stale = ref();
        leader.send("exec-fence", launch(EPOCH - 1, List.of(), List.of(task(stale, 1, value(1)))));
        leader.send("exec-fence", new Drop(EPOCH - 1, List.of(kept), List.of(1L)));
        RefId fresh = ref();
        leader.send("exec-fence", launch(EPOCH, List.of(), List.of(task(fresh, 1, value(2)))));
        // Messages on one connection are handled in order: once the fresh result is in, the stale
        // ones were seen and refused.
        assertThat(decode(leader.awaitResult(fresh).inline())).isEqualTo(3);
        assertThat(leader.results).doesNotContainKey(stale);
        assertThat(e.store().contains(kept)).isTrue();
        assertThat(e.stats().tasksRun()).isEqualTo(2);

        // The leader is re-elected with a newer epoch: commands of the old epoch are refused from then on.
        leader.setEpoch(EPOCH + 3);
        await().atMost(Duration.ofSeconds(10)).until(() -> e.registrations() == 2);
        RefId old = ref();
        RefId current = ref();
        leader.send("exec-fence", launch(EPOCH, List.of(), List.of(task(old, 1, value(1)))));
        leader.send("exec-fence", launch(EPOCH + 3, List.of(fn(1, new Fns.AddOne())), List.of(task(current, 1, value(5)))));
        assertThat(decode(leader.awaitResult(current).inline())).isEqualTo(6);
        assertThat(leader.results).doesNotContainKey(old);

        // The executor counts what it refused where the leader's status page reads it: its /metrics.
        String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + e.metricsPort() + "/metrics"))
                        .timeout(Duration.ofSeconds(10)).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertThat(io.quiver.core.metrics.PrometheusText.parse(metrics)
                .value("quiver_executor_stale_epoch_refused_total", "executor", "exec-fence"))
                .as("two stale Launches and one stale Drop").isEqualTo(3);
    }

    @Test
    void keepsRunningTasksInLaunchOrderOnItsSlots() throws Exception {
        executor("exec-order", 1);
        Fns.Blocking.started = new CountDownLatch(1);
        Fns.Blocking.release = new CountDownLatch(1);
        RefId blocker = ref();
        List<RefId> outs = new ArrayList<>();
        List<TaskLaunch> tasks = new ArrayList<>();
        tasks.add(task(blocker, 1, value(0)));
        for (int i = 0; i < 20; i++) {
            RefId out = ref();
            outs.add(out);
            tasks.add(task(out, 2, value(i)));
        }
        leader.send("exec-order", launch(EPOCH, List.of(fn(1, new Fns.Blocking()), fn(2, new Fns.AddOne())), tasks));
        await().atMost(Duration.ofSeconds(10)).until(() -> Fns.Blocking.started.getCount() == 0);
        assertThat(leader.results).isEmpty(); // one slot, and it is busy
        Fns.Blocking.release.countDown();
        leader.awaitResult(outs.get(19));
        List<RefId> order = new ArrayList<>();
        leader.batches.forEach(b -> b.results().forEach(r -> order.add(r.task())));
        List<RefId> expected = new ArrayList<>();
        expected.add(blocker);
        expected.addAll(outs);
        assertThat(order).containsExactlyElementsOf(expected);
    }

    @Test
    void aLeaderChangeFindsTheExecutorStillRunningItsTaskAndRemembersItsResultsAndFailures() throws Exception {
        Executor e = executor("exec-reg", 2);
        Fns.Blocking.started = new CountDownLatch(1);
        Fns.Blocking.release = new CountDownLatch(1);
        RefId running = ref();
        RefId done = ref();
        RefId failed = ref();
        leader.send("exec-reg", launch(EPOCH, List.of(fn(1, new Fns.Blocking()), fn(2, new Fns.AddOne()),
                fn(3, new Fns.Throws())), List.of(task(running, 1, value(0)), task(done, 2, value(1)),
                task(failed, 3, value(2)))));
        await().atMost(Duration.ofSeconds(10)).until(() -> Fns.Blocking.started.getCount() == 0);
        leader.awaitResult(done);
        leader.awaitResult(failed);

        // A new leader (here: the same one under a newer epoch) gets everything it needs to adopt.
        leader.setEpoch(EPOCH + 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> leader.registersBy.get("exec-reg").size() == 2);
        Register again = leader.registersBy.get("exec-reg").get(1);
        assertThat(again.active()).containsExactly(running);
        assertThat(again.inventory()).extracting(BlockInfo::ref).contains(done).doesNotContain(running, failed);
        assertThat(again.failed()).singleElement().satisfies(f -> {
            assertThat(f.task()).isEqualTo(failed);
            assertThat(f.failure().message()).contains("boom 2");
        });

        // The task was not stopped by the change: it finishes and reports to the new term.
        leader.results.remove(running);
        Fns.Blocking.release.countDown();
        assertThat(leader.awaitResult(running).failure()).isNull();
        assertThat(e.stats().tasksRun()).isEqualTo(3);
    }
}
