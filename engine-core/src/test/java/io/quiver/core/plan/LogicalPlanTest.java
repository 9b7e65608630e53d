package io.quiver.core.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.plan.LogicalNode.Kind;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogicalPlanTest {
    private static final byte[] FN = {9, 8, 7};

    private static LogicalPlan everyKind() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int items = b.add(LogicalNode.parallelize(List.of(new byte[] {1}, new byte[] {2, 3})));
        int range = b.add(LogicalNode.range(-5, 50, 2));
        int text = b.add(LogicalNode.textFile("/tmp/ü.txt", 1234, 3));
        int persisted = b.add(LogicalNode.persisted(List.of(new RefId(1, 2), new RefId(3, 4))));
        int n = b.add(LogicalNode.union(items, range));
        n = b.add(LogicalNode.union(n, text));
        n = b.add(LogicalNode.union(n, persisted));
        for (Kind k : List.of(Kind.MAP, Kind.FLAT_MAP, Kind.FILTER, Kind.MAP_PARTITIONS, Kind.KEY_BY,
                Kind.MAP_TO_PAIR, Kind.MAP_VALUES)) {
            n = b.add(LogicalNode.narrow(k, n, FN));
        }
        n = b.add(LogicalNode.pinned(Kind.MAP_PINNED, n, FN, new RefId(5, 6), true));
        n = b.add(LogicalNode.pinned(Kind.FILTER_PINNED, n, FN, new RefId(7, 8), false));
        b.markPersist(n);
        int r = b.add(LogicalNode.reduceByKey(n, FN, 4));
        int g = b.add(LogicalNode.groupByKey(r, 3));
        int j = b.add(LogicalNode.join(g, r, 5));
        int root = b.add(LogicalNode.repartition(j, 6));
        return b.build(root, Action.reduce(FN));
    }

    @Test
    void encodesAndDecodesEveryNodeKind() {
        LogicalPlan plan = everyKind();
        LogicalPlan back = LogicalPlan.fromBytes(plan.toBytes());
        assertThat(back.size()).isEqualTo(plan.size());
        assertThat(back.root()).isEqualTo(plan.root());
        assertThat(back.action().kind()).isEqualTo(Action.Kind.REDUCE);
        assertThat(back.action().function()).isEqualTo(FN);
        for (int i = 0; i < plan.size(); i++) {
            LogicalNode a = plan.node(i);
            LogicalNode b = back.node(i);
            assertThat(b.toString()).isEqualTo(a.toString());
            assertThat(b.function()).isEqualTo(a.function());
            assertThat(b.pinned()).isEqualTo(a.pinned());
            assertThat(b.pinnedBroadcast()).isEqualTo(a.pinnedBroadcast());
            assertThat(b.refs()).isEqualTo(a.refs());
            assertThat(b.path()).isEqualTo(a.path());
            assertThat(b.fileLength()).isEqualTo(a.fileLength());
            assertThat(b.from()).isEqualTo(a.from());
            assertThat(b.to()).isEqualTo(a.to());
            assertThat(b.persist()).isEqualTo(a.persist());
            if (a.items() != null) {
                assertThat(b.items()).hasSameSizeAs(a.items());
                for (int k = 0; k < a.items().size(); k++) {
                    assertThat(b.items().get(k)).isEqualTo(a.items().get(k));
                }
            }
        }
        assertThat(back.node(back.size() - 1).partitions()).isEqualTo(6);
        assertThat(back.node(6).partitions()).isEqualTo(2 + 2 + 3 + 2);
    }

    @Test
    void aThousandNodePlanRoundTrips() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 10, 2));
        for (int i = 0; i < 1000; i++) {
            n = b.add(LogicalNode.narrow(Kind.MAP, n, FN));
        }
        LogicalPlan back = LogicalPlan.fromBytes(b.build(n, Action.count()).toBytes());
        assertThat(back.size()).isEqualTo(1001);
        assertThat(back.node(1000).input(0)).isEqualTo(999);
    }

    @Test
    void corruptBytesAreRejected() {
        byte[] bytes = everyKind().toBytes();
        assertThatThrownBy(() -> LogicalPlan.fromBytes(new byte[] {1, 2, 3, 4, 5}))
                .isInstanceOf(QuiverException.class).hasMessageContaining("not an encoded logical plan");
        assertThatThrownBy(() -> LogicalPlan.fromBytes(Arrays.copyOf(bytes, bytes.length - 3)))
                .isInstanceOf(QuiverException.class).hasMessageStartingWith("corrupt logical plan");
        assertThatThrownBy(() -> LogicalPlan.fromBytes(Arrays.copyOf(bytes, bytes.length + 1)))
                .isInstanceOf(QuiverException.class).hasMessageContaining("trailing bytes");
    }

    @Test
    void withActionKeepsTheDag() {
        LogicalPlan plan = everyKind();
        LogicalPlan counted = plan.withAction(Action.count());
        assertThat(counted.size()).isEqualTo(plan.size());
        assertThat(counted.action().kind()).isEqualTo(Action.Kind.COUNT);
        assertThatThrownBy(() -> new Action(Action.Kind.REDUCE, null)).isInstanceOf(IllegalArgumentException.class);
    }
}
