package io.quiver.e2e;

import io.quiver.Dataset;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import io.quiver.planner.OperatorProperties;
import io.quiver.planner.PipelineProperties;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * dag-planner's section-8 operator property ({@link OperatorProperties}) on a real LocalCluster of
 * two executors, started once for the class: shuffles between executors over Netty, sort sampling
 * jobs, take's partition slices, saveAsTextFile written by the executors. Few tries: each runs
 * some sixty jobs.
 */
class OperatorClusterPropertyTest extends OperatorProperties {
    private static LocalCluster cluster;

    @BeforeContainer
    static void startCluster() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(64L << 20));
    }

    @AfterContainer
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Property(tries = 6)
    void operatorsOnAClusterAgreeWithStreams(@ForAll("elements") List<Integer> data,
            @ForAll @IntRange(min = 1, max = 5) int p, @ForAll("elements") List<Integer> other,
            @ForAll @IntRange(min = 1, max = 3) int q) throws IOException {
        Path scratch = Files.createTempDirectory("quiver-ops-cluster");
        try (Quiver quiver = cluster.connect()) {
            String holder = cluster.executorIds().get(1);
            checkOperators(new PipelineProperties.Host() {
                @Override
                public <T> Dataset<T> parallelize(List<T> items, int n) {
                    return quiver.parallelize(items, n);
                }

                @Override
                public <T> Ref<T> broadcast(T value) {
                    return quiver.scatter(value, Scatter.broadcast());
                }

                @Override
                public <T> Ref<T> scattered(T value) {
                    return quiver.scatter(value, Scatter.on(holder));
                }
            }, data, p, other, q, scratch);
        } finally {
            try (var files = Files.walk(scratch)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
