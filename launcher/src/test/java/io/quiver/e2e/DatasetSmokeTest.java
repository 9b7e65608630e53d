package io.quiver.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.KV;
import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatasetSmokeTest {
    @Test
    void aShuffleRunsOnTheCluster() {
        try (LocalCluster cluster = LocalCluster.start(LocalCluster.options().executors(2));
             Quiver q = cluster.connect()) {
            Map<Integer, Long> counts = q.range(0, 1000, 4).mapToPair(i -> KV.of((int) (i % 3), 1L))
                    .reduceByKey(Long::sum).collectAsMap();
            assertThat(counts).containsEntry(0, 334L).containsEntry(1, 333L).containsEntry(2, 333L);
            assertThat(q.range(0, 10, 3).map(x -> x * 2).collect()).containsExactly(0L, 2L, 4L, 6L, 8L, 10L, 12L, 14L, 16L, 18L);
            assertThat(q.parallelize(List.of("a", "b"), 2).count()).isEqualTo(2);
            String plan = q.range(0, 10, 2).mapToPair(i -> KV.of(i, i)).reduceByKey(Long::sum).explain();
            assertThat(plan).contains("stage 0").contains("stage 1");
        }
    }
}
