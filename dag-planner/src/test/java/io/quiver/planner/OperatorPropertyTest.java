package io.quiver.planner;

import io.quiver.Dataset;
import io.quiver.Ref;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link OperatorProperties} on {@link TestingJobService}: every section-8 operator through
 * DatasetImpl, the planner and StageFunction, without a cluster. The same property runs on a real
 * LocalCluster in launcher's {@code OperatorClusterPropertyTest}.
 */
class OperatorPropertyTest extends OperatorProperties {

    @Property(tries = 40)
    void operatorsAgreeWithStreams(@ForAll("elements") List<Integer> data, @ForAll @IntRange(min = 1, max = 6) int p,
            @ForAll("elements") List<Integer> other, @ForAll @IntRange(min = 1, max = 4) int q) throws IOException {
        Path scratch = Files.createTempDirectory("quiver-ops");
        try (TestingJobService service = new TestingJobService()) {
            checkOperators(new PipelineProperties.Host() {
                @Override
                public <T> Dataset<T> parallelize(List<T> items, int n) {
                    return service.parallelize(items, n);
                }

                @Override
                public <T> Ref<T> broadcast(T value) {
                    return service.scatter(value, true);
                }

                @Override
                public <T> Ref<T> scattered(T value) {
                    return service.scatter(value, false, "exec-1");
                }
            }, data, p, other, q, scratch);
        } finally {
            deleteTree(scratch);
        }
    }

    static void deleteTree(Path root) throws IOException {
        try (var files = Files.walk(root)) {
            for (Path f : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
