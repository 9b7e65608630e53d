package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.Submit;
import io.quiver.TaskFailedException;
import io.quiver.local.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * API.md section 8's futures options on a real embedded cluster (ZooKeeper, a leader, 2
 * executors, Netty on loopback), each case following one of Dask's {@code test_client.py}.
 */
class FuturesOptionsTest {
    static LocalCluster cluster;
    static Quiver q;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).slotsPerExecutor(2).executorMemory(128L << 20));
        q = cluster.connect();
    }

    @AfterAll
    static void stop() {
        if (q != null) {
            q.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Appends a line for this run and returns how many runs there were, this one included. */
    static int countRun(String file) {
        try {
            Path p = Path.of(file);
            Files.writeString(p, "run\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            return Files.readAllLines(p).size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Dask's test_map_retries / test_retries_get: a task that throws twice succeeds with retries=2. */
    @Test
    void retriesRunAThrowingTaskAgainAndCountItsAttempts() {
        String twice = dir.resolve("twice").toString();
        Ref<String> ok = q.with(Submit.retries(2)).submit(() -> {
            if (countRun(twice) < 3) {
                throw new IllegalStateException("not yet");
            }
            return "third time";
        });
        assertThat(ok.result()).isEqualTo("third time");
        assertThat(lines(twice)).isEqualTo(3);

        String always = dir.resolve("always").toString();
        Ref<String> bad = q.with(Submit.retries(1)).submit(() -> {
            countRun(always);
            throw new IllegalStateException("always");
        });
        assertThatThrownBy(bad::result).isInstanceOfSatisfying(TaskFailedException.class, e -> {
            assertThat(e.attempts()).isEqualTo(2);
            assertThat(e.getMessage()).contains("always");
        });
        assertThat(lines(always)).as("one run and one retry, no more").isEqualTo(2);

        String none = dir.resolve("none").toString();
        Ref<String> plain = q.submit(() -> {
            countRun(none);
            throw new IllegalStateException("once");
        });
        assertThatThrownBy(plain::result).isInstanceOf(TaskFailedException.class);
        assertThat(lines(none)).as("no retries by default").isEqualTo(1);
    }

    /** Dask's test_restrictions_submit and test_restrictions_map: workers= runs only there. */
    @Test
    void onRestrictsTasksToTheNamedExecutor() {
        String only = cluster.executorIds().get(1);
        Quiver there = q.with(Submit.on(only));
        List<Ref<Integer>> refs = there.map(x -> x * 2, IntStream.range(0, 30).boxed().toList());
        assertThat(q.gather(refs)).isEqualTo(IntStream.range(0, 30).map(x -> x * 2).boxed().toList());
        for (Ref<Integer> r : refs) {
            assertThat(r.locations()).containsExactly(only);
        }
        Ref<Integer> one = there.submit(() -> 7);
        assertThat(one.result()).isEqualTo(7);
        assertThat(one.locations()).containsExactly(only);
    }

    /** Dask's test_loose_restrictions: allow_other_workers runs a task whose workers are not there. */
    @Test
    void onAnExecutorThatIsNotThereFailsClearlyUnlessOthersAreAllowed() {
        Ref<Integer> strict = q.with(Submit.on("no-such-executor")).submit(() -> 1);
        assertThatThrownBy(strict::result).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("no-such-executor").hasMessageContaining("Submit.on")
                .hasMessageContaining("allowOthers(true)");

        Ref<Integer> loose = q.with(Submit.on("no-such-executor").allowOthers(true)).submit(() -> 2);
        assertThat(loose.result()).isEqualTo(2);
    }

    /** Dask's test_map's {@code c.submit(sum, L2)}: one task over a list of futures. */
    @Test
    void oneTaskOverAListOfRefsGetsTheirValuesInOrder() {
        List<Ref<Integer>> parts = q.map(x -> x + 1, List.of(1, 2, 3, 4));
        Ref<Integer> total = q.submit((List<Integer> xs) -> xs.stream().mapToInt(Integer::intValue).sum(), parts);
        assertThat(total.result()).isEqualTo(2 + 3 + 4 + 5);
        Ref<String> order = q.submit((List<Integer> xs) -> xs.toString(), parts);
        assertThat(order.result()).isEqualTo("[2, 3, 4, 5]");
        Ref<Integer> empty = q.submit((List<Integer> xs) -> xs.size(), List.<Ref<Integer>>of());
        assertThat(empty.result()).isZero();
        assertThatThrownBy(() -> q.submit((List<Integer> xs) -> 0, java.util.Arrays.asList(parts.get(0), null)))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("input ref 1");
    }

    /**
     * Dask's test_cancel and test_cancel_collection: a running task is interrupted, its dependents
     * are cancelled with it, and the executor goes on running other work.
     */
    @Test
    void cancelInterruptsARunningTaskAndCancelsItsDependents() throws Exception {
        String started = dir.resolve("started").toString();
        String interrupted = dir.resolve("interrupted").toString();
        Ref<String> slow = q.submit(() -> {
            countRun(started);
            try {
                Thread.sleep(120_000);
                return "finished";
            } catch (InterruptedException e) {
                countRun(interrupted);
                throw e;
            }
        });
        Ref<String> dependent = q.submit(s -> s + "!", slow);
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(Path.of(started)));

        assertThat(slow.cancel()).isTrue();
        assertThatThrownBy(slow::result).isInstanceOf(QuiverException.class)
                .hasCauseInstanceOf(CancellationException.class);
        assertThatThrownBy(dependent::result).isInstanceOf(QuiverException.class)
                .hasCauseInstanceOf(CancellationException.class);
        await().atMost(Duration.ofSeconds(20)).until(() -> Files.exists(Path.of(interrupted)));

        Ref<Integer> done = q.submit(() -> 41 + 1);
        assertThat(done.result()).isEqualTo(42);
        assertThat(done.cancel()).as("a finished task is not cancelled").isFalse();
        assertThat(done.result()).isEqualTo(42);
        // The worker whose task was interrupted runs other tasks: every slot still works.
        assertThat(q.gather(q.map(x -> x, IntStream.range(0, 40).boxed().toList()))).hasSize(40);
    }

    /** Dask's test_replicate: more copies of a value, then one on every executor, joiners included. */
    @Test
    void replicateAddsCopiesAndMaxValueFollowsJoiners() {
        Ref<int[]> one = q.scatter(new int[] {1, 2, 3}, Scatter.single());
        assertThat(one.locations()).hasSize(1);
        q.replicate(one, 2);
        assertThat(one.locations()).hasSize(2);

        Ref<int[]> everywhere = q.scatter(new int[] {4, 5}, Scatter.single());
        q.replicate(everywhere, Integer.MAX_VALUE);
        assertThat(everywhere.locations()).containsExactlyInAnyOrderElementsOf(cluster.executorIds());
        String joiner = cluster.addExecutor();
        try {
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(everywhere.locations()).contains(joiner));
            assertThat(q.submit(a -> a[0] + a[1], everywhere).result()).isEqualTo(9);
        } finally {
            cluster.stopExecutor(joiner);
        }

        Ref<Integer> failed = q.submit(() -> {
            throw new IllegalStateException("no value");
        });
        assertThatThrownBy(failed::result).isInstanceOf(TaskFailedException.class);
        assertThatThrownBy(() -> q.replicate(failed, 2)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("failed");
        assertThatThrownBy(() -> q.replicate(one, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("copies must be >= 1");
    }

    @Test
    void submitOptionsRefuseBadArguments() {
        assertThatThrownBy(() -> Submit.retries(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(">= 0");
        assertThatThrownBy(() -> Submit.on()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one executor id");
        assertThatThrownBy(() -> Submit.on("a", " ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blank");
        assertThatThrownBy(() -> q.with(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("Submit.defaults()");
        Submit combined = Submit.on("x").andRetries(2).andPriority(5);
        assertThat(combined.executors()).containsExactly("x");
        assertThat(combined.retries()).isEqualTo(2);
        assertThat(combined.priority()).isEqualTo(5);
        assertThat(combined.allowOthers()).isFalse();
        assertThat(Submit.defaults().retries()).isZero();
        assertThat(Submit.defaults().priority()).isZero();
        assertThat(Submit.defaults().executors()).isEmpty();
    }

    static int lines(String file) {
        try {
            return Files.readAllLines(Path.of(file)).size();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
