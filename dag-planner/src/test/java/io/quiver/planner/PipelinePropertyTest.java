package io.quiver.planner;

import io.quiver.Dataset;
import io.quiver.Ref;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link PipelineProperties} on {@link TestingJobService}: random pipelines through DatasetImpl, the
 * planner and StageFunction, without a cluster. The same property runs on a real LocalCluster in
 * launcher's {@code DatasetPropertyTest}.
 */
class PipelinePropertyTest extends PipelineProperties {

    @Property(tries = 100)
    void pipelinesAgreeWithStreams(@ForAll("data") List<Integer> data, @ForAll @IntRange(min = 1, max = 5) int partitions,
            @ForAll("steps") List<Step> steps, @ForAll("data") List<Integer> other) {
        try (TestingJobService q = new TestingJobService()) {
            checkPipeline(new Host() {
                @Override
                public <T> Dataset<T> parallelize(List<T> items, int n) {
                    return q.parallelize(items, n);
                }

                @Override
                public <T> Ref<T> broadcast(T value) {
                    return q.scatter(value, true);
                }

                @Override
                public <T> Ref<T> scattered(T value) {
                    return q.scatter(value, false, "exec-1");
                }
            }, data, partitions, steps, other);
        }
    }
}
