package io.quiver.process;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.Submit;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 6: the fetch stall guard. An executor that fetches an input from a peer that stops
 * sending (SIGSTOP of a real executor JVM, its connection left open) moves on to the next copy
 * after {@code quiver.fetchStallMs} instead of holding its task forever; the task completes
 * with the right value while the frozen peer is still frozen.
 */
class FrozenPeerFetchIT {
    static final long STALL_MILLIS = 3_000;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aFetchFromAFrozenPeerMovesOnToTheNextCopy() {
        try (TestingProcessCluster cluster = TestingProcessCluster.builder("FrozenPeerFetchIT").coordinators(1)
                .executors(3).slotsPerExecutor(1).executorMemory(64L << 20)
                .jvmArgs("-Dquiver.fetchStallMs=" + STALL_MILLIS).start();
             Quiver q = cluster.connect()) {
            String frozen = cluster.executorIds().get(0);
            String reader = cluster.executorIds().get(1);
            String spare = cluster.executorIds().get(2);

            // The reader fetches once from the peer-to-be-frozen: their data link is up (a stalled
            // stream, not a connect that never completes, is what the guard is for).
            Ref<int[]> warm = q.scatter(new int[] {1, 2, 3}, Scatter.on(frozen));
            assertThat(q.with(Submit.on(reader)).submit(a -> a.length, warm).result()).isEqualTo(3);

            // The value's first copy is on the peer that freezes, its second on the spare (fetched
            // there by a task, so it is listed after the first).
            int[] data = new int[1 << 20];
            Arrays.fill(data, 7);
            Ref<int[]> value = q.scatter(data, Scatter.on(frozen));
            assertThat(q.with(Submit.on(spare)).submit(a -> a.length, value).result()).isEqualTo(data.length);
            assertThat(value.locations()).containsExactlyInAnyOrder(frozen, spare);

            cluster.sigstop(frozen);
            long start = System.nanoTime();
            try {
                Ref<Long> sum = q.with(Submit.on(reader)).submit(a -> Arrays.stream(a).asLongStream().sum(), value);
                long result = sum.result(Duration.ofSeconds(60));
                long millis = (System.nanoTime() - start) / 1_000_000;
                long guard = cluster.logLines(reader, "no data for " + STALL_MILLIS + " ms");
                long refused = cluster.logLines(reader, "could not fetch");
                System.out.printf("FrozenPeerFetchIT: %s frozen; the task on %s finished in %d ms (stall guard %d ms);"
                        + " stall-guard log lines on %s: %d; failed fetches: %d%n", frozen, reader, millis, STALL_MILLIS,
                        reader, guard, refused);
                assertThat(result).isEqualTo(7L * data.length);
                assertThat(guard).as("%s logged that its fetch from %s stalled and moved on", reader, frozen)
                        .isGreaterThanOrEqualTo(1);
                assertThat(cluster.process(frozen).isAlive()).as("%s stayed (frozen) the whole time", frozen).isTrue();
            } finally {
                cluster.sigcont(frozen);
            }
        }
    }
}
