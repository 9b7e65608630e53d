package io.quiver.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.quiver.ExecutorInfo;
import io.quiver.Quiver;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;

/** {@code Quiver.connect("local[N]")} finds this module through ServiceLoader. Needs the coordinator and client. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class LocalConnectTest {
    @Test
    void localUrlStartsAClusterThatClosingTheQuiverStops() {
        Set<Thread> before = Threads.running();
        Quiver q = Quiver.connect("local[2]");
        try {
            assertThat(q.cluster().executors()).extracting(ExecutorInfo::id).containsExactlyInAnyOrder("exec-1", "exec-2");
            assertThat(q.cluster().executors()).allSatisfy(e -> assertThat(e.slots()).isEqualTo(1));
            assertThat(q.submit(() -> 6 * 7).result(Duration.ofSeconds(30))).isEqualTo(42);
        } finally {
            q.close();
        }
        q.close(); // idempotent
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(Threads.startedSince(before)).isEmpty());
    }
}
