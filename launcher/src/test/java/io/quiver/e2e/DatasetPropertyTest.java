package io.quiver.e2e;

import io.quiver.Dataset;
import io.quiver.Quiver;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.local.LocalCluster;
import io.quiver.planner.PipelineProperties;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * dag-planner's random-pipeline property ({@link PipelineProperties}) on a real LocalCluster of two
 * executors, started once for the class: every operator, shuffles between executors, pinned
 * broadcast and scattered refs, persisted partitions, all against java.util.stream. Each try uses
 * its own connection, so closing it releases the try's refs and persisted datasets.
 */
class DatasetPropertyTest extends PipelineProperties {
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

    @Property(tries = 40)
    void pipelinesOnAClusterAgreeWithStreams(@ForAll("data") List<Integer> data,
            @ForAll @IntRange(min = 1, max = 5) int partitions, @ForAll("steps") List<Step> steps,
            @ForAll("data") List<Integer> other) {
        try (Quiver q = cluster.connect()) {
            String holder = cluster.executorIds().get(1);
            checkPipeline(new Host() {
                @Override
                public <T> Dataset<T> parallelize(List<T> items, int n) {
                    return q.parallelize(items, n);
                }

                @Override
                public <T> Ref<T> broadcast(T value) {
                    return q.scatter(value, Scatter.broadcast());
                }

                @Override
                public <T> Ref<T> scattered(T value) {
                    return q.scatter(value, Scatter.on(holder));
                }
            }, data, partitions, steps, other);
        }
    }
}
