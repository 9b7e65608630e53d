package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.RefId;
import io.quiver.core.plan.Action;
import io.quiver.core.plan.LogicalNode;
import io.quiver.core.plan.LogicalNode.Kind;
import io.quiver.core.plan.LogicalPlan;
import io.quiver.core.plan.RangeSplit;
import io.quiver.core.plan.TextSplit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The planner on hand-built logical plans; function bytes are opaque to it, so dummies do. */
class PlannerTest {
    private static final byte[] FN = {1, 2, 3};
    private static final ClusterView TWO = ClusterView.of(List.of("exec-0", "exec-1"));

    private static PhysicalPlan plan(LogicalPlan.Builder b, int root) {
        return Planner.plan(b.build(root, Action.collect()), TWO);
    }

    @Test
    void narrowOperatorsFuseIntoOneStage() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 100, 4));
        n = b.add(LogicalNode.narrow(Kind.MAP, n, FN));
        n = b.add(LogicalNode.narrow(Kind.FILTER, n, FN));
        n = b.add(LogicalNode.narrow(Kind.FLAT_MAP, n, FN));
        n = b.add(LogicalNode.narrow(Kind.MAP_PARTITIONS, n, FN));
        n = b.add(LogicalNode.narrow(Kind.KEY_BY, n, FN));
        n = b.add(LogicalNode.narrow(Kind.MAP_VALUES, n, FN));

        PhysicalPlan p = plan(b, n);

        assertThat(p.stages()).hasSize(1);
        Stage s = p.finalStage();
        assertThat(s.kind()).isEqualTo(Stage.Kind.RESULT);
        assertThat(s.operators()).containsExactly("range(0..100)", "map", "filter", "flatMap", "mapPartitions",
                "keyBy", "mapValues");
        assertThat(s.partitions()).isEqualTo(4);
        assertThat(s.parents()).isEmpty();
        assertThat(s.outputsPerTask()).isEqualTo(1);
        assertThat(s.function().paths()).hasSize(1);
        assertThat(s.tasks().get(1).inputs()).containsExactly(new TaskInput.Inline(1),
                new TaskInput.Inline(new RangeSplit(25, 50)));
        assertThat(p.persistedOutputs()).isEmpty();
    }

    @Test
    void reduceByKeyCutsAShuffleBoundary() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int src = b.add(LogicalNode.range(0, 10, 3));
        int pairs = b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, src, FN));
        int reduced = b.add(LogicalNode.reduceByKey(pairs, FN, 2));
        int out = b.add(LogicalNode.narrow(Kind.MAP_VALUES, reduced, FN));

        PhysicalPlan p = plan(b, out);

        assertThat(p.stages()).hasSize(2);
        Stage map = p.stage(0);
        assertThat(map.kind()).isEqualTo(Stage.Kind.SHUFFLE_MAP);
        assertThat(map.operators()).containsExactly("range(0..10)", "mapToPair");
        assertThat(map.partitions()).isEqualTo(3);
        assertThat(map.outputsPerTask()).as("one map output holding both buckets").isEqualTo(1);
        Stage reduce = p.stage(1);
        assertThat(reduce.operators()).containsExactly("reduceByKey", "mapValues");
        assertThat(reduce.partitions()).isEqualTo(2);
        assertThat(reduce.parents()).containsExactly(0);
        assertThat(reduce.tasks().get(1).inputs()).containsExactly(new TaskInput.Inline(1),
                new TaskInput.ShuffleRead(0, 0, 1), new TaskInput.ShuffleRead(0, 1, 1),
                new TaskInput.ShuffleRead(0, 2, 1));
    }

    @Test
    void everyWideOperatorCutsAStage() {
        for (Kind wide : List.of(Kind.REDUCE_BY_KEY, Kind.GROUP_BY_KEY, Kind.REPARTITION)) {
            LogicalPlan.Builder b = LogicalPlan.builder();
            int n = b.add(LogicalNode.range(0, 10, 2));
            n = b.add(LogicalNode.narrow(Kind.KEY_BY, n, FN));
            n = b.add(switch (wide) {
                case REDUCE_BY_KEY -> LogicalNode.reduceByKey(n, FN, 5);
                case GROUP_BY_KEY -> LogicalNode.groupByKey(n, 5);
                default -> LogicalNode.repartition(n, 5);
            });
            n = b.add(LogicalNode.narrow(Kind.MAP, n, FN));
            PhysicalPlan p = plan(b, n);
            assertThat(p.stages()).as(wide.name()).hasSize(2);
            assertThat(p.stage(0).outputsPerTask()).isEqualTo(1);
            assertThat(p.stage(0).function().sink().buckets()).isEqualTo(5);
            assertThat(p.stage(1).operators()).containsExactly(wide.displayName(), "map");
            assertThat(p.stage(1).partitions()).isEqualTo(5);
        }
    }

    @Test
    void joinSidesAreIndependentStages() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int left = b.add(LogicalNode.narrow(Kind.KEY_BY, b.add(LogicalNode.range(0, 10, 2)), FN));
        int right = b.add(LogicalNode.narrow(Kind.KEY_BY, b.add(LogicalNode.range(0, 10, 3)), FN));
        int join = b.add(LogicalNode.join(left, right, 3));

        PhysicalPlan p = plan(b, join);

        assertThat(p.stages()).hasSize(3);
        assertThat(p.stage(0).parents()).isEmpty();
        assertThat(p.stage(1).parents()).isEmpty();
        assertThat(p.stage(0).partitions()).isEqualTo(2);
        assertThat(p.stage(1).partitions()).isEqualTo(3);
        Stage result = p.stage(2);
        assertThat(result.parents()).containsExactly(0, 1);
        // bucket 2 of the left map outputs (2 map tasks), then of the right ones (3 map tasks)
        assertThat(result.tasks().get(2).inputs()).containsExactly(new TaskInput.Inline(2),
                new TaskInput.ShuffleRead(0, 0, 2), new TaskInput.ShuffleRead(0, 1, 2),
                new TaskInput.ShuffleRead(1, 0, 2), new TaskInput.ShuffleRead(1, 1, 2),
                new TaskInput.ShuffleRead(1, 2, 2));
        assertThat(p.stage(1).function().sink().side()).as("the right side's map stage").isEqualTo(1);
    }

    @Test
    void coalesceReadsOnlyItsContiguousGroupOfMapOutputs() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 100, 10));
        n = b.add(LogicalNode.coalesce(n, 3));
        PhysicalPlan p = plan(b, n);
        assertThat(p.stages()).hasSize(2);
        assertThat(p.stage(0).sink()).contains("coalesce").contains("no hash exchange");
        // 10 -> 3: groups [0, 4), [4, 7), [7, 10)
        assertThat(p.stage(1).tasks().get(0).inputs()).containsExactly(new TaskInput.Inline(0),
                new TaskInput.ShuffleRead(0, 0, 0), new TaskInput.ShuffleRead(0, 1, 0),
                new TaskInput.ShuffleRead(0, 2, 0), new TaskInput.ShuffleRead(0, 3, 0));
        assertThat(p.stage(1).tasks().get(2).inputs()).containsExactly(new TaskInput.Inline(2),
                new TaskInput.ShuffleRead(0, 7, 2), new TaskInput.ShuffleRead(0, 8, 2),
                new TaskInput.ShuffleRead(0, 9, 2));
        for (int parent = 0; parent < 10; parent++) {
            int group = LogicalNode.coalesceGroup(parent, 10, 3);
            assertThat(parent).isBetween(LogicalNode.coalesceFirst(group, 10, 3),
                    LogicalNode.coalesceFirst(group + 1, 10, 3) - 1);
        }
    }

    @Test
    void chainedShufflesMakeOneStageEach() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 10, 2));
        for (int i = 0; i < 5; i++) {
            n = b.add(LogicalNode.narrow(Kind.KEY_BY, n, FN));
            n = b.add(LogicalNode.groupByKey(n, 2));
        }
        PhysicalPlan p = plan(b, n);
        assertThat(p.stages()).hasSize(6);
        for (int i = 1; i < 6; i++) {
            assertThat(p.stage(i).parents()).containsExactly(i - 1);
        }
    }

    @Test
    void unionFusesWithOnePathPerInput() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int r1 = b.add(LogicalNode.narrow(Kind.MAP, b.add(LogicalNode.range(0, 4, 2)), FN));
        int r2 = b.add(LogicalNode.range(10, 13, 3));
        int u = b.add(LogicalNode.union(r1, r2));
        int out = b.add(LogicalNode.narrow(Kind.FILTER, u, FN));

        PhysicalPlan p = plan(b, out);

        assertThat(p.stages()).hasSize(1);
        Stage s = p.finalStage();
        assertThat(s.partitions()).isEqualTo(5);
        assertThat(s.function().paths()).hasSize(2);
        assertThat(s.tasks().get(1).inputs()).contains(new TaskInput.Inline(new RangeSplit(2, 4)));
        assertThat(s.tasks().get(2).inputs()).containsExactly(new TaskInput.Inline(2),
                new TaskInput.Inline(new RangeSplit(10, 11)));
        assertThat(s.operators()).containsExactly("range(0..4)", "map", "range(10..13)", "union", "filter");
    }

    @Test
    void broadcastInputIsPinnedEverywhereWithoutPreference() {
        RefId ref = new RefId(1, 7);
        ClusterView view = TWO.withRef(ref, true, "exec-0", "exec-1");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.pinned(Kind.FILTER_PINNED, b.add(LogicalNode.range(0, 10, 2)), FN, ref, true));

        Stage s = Planner.plan(b.build(n, Action.count()), view).finalStage();

        assertThat(s.pinnedInputs()).containsExactly(new PinnedInput(ref, true, List.of("exec-0", "exec-1")));
        assertThat(s.pinnedInputs().get(0).describe()).isEqualTo("pinned broadcast ref-1-7");
        assertThat(s.tasks()).allSatisfy(t -> {
            assertThat(t.preferredExecutors()).isEmpty();
            assertThat(t.inputs().get(1)).isEqualTo(new TaskInput.Pinned(ref));
        });
    }

    @Test
    void scatteredInputPullsTasksToItsHolders() {
        RefId ref = new RefId(1, 8);
        ClusterView view = ClusterView.of(List.of("exec-0", "exec-1", "exec-2")).withRef(ref, false, "exec-2");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.pinned(Kind.MAP_PINNED, b.add(LogicalNode.range(0, 10, 3)), FN, ref, false));

        Stage s = Planner.plan(b.build(n, Action.collect()), view).finalStage();

        assertThat(s.pinnedInputs().get(0).describe()).isEqualTo("pinned on exec-2 ref-1-8");
        assertThat(s.tasks()).allSatisfy(t -> assertThat(t.preferredExecutors()).containsExactly("exec-2"));
    }

    @Test
    void preferencesRankExecutorsByInputsHeldAndIgnoreDeadOnes() {
        RefId a = new RefId(1, 1);
        RefId c = new RefId(1, 2);
        ClusterView view = ClusterView.of(List.of("exec-0", "exec-1"))
                .withRef(a, false, "exec-0", "exec-1", "exec-dead")
                .withRef(c, false, "exec-1");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.pinned(Kind.MAP_PINNED, b.add(LogicalNode.range(0, 10, 1)), FN, a, false));
        n = b.add(LogicalNode.pinned(Kind.FILTER_PINNED, n, FN, c, false));
        n = b.add(LogicalNode.pinned(Kind.MAP_PINNED, n, FN, a, false)); // same ref twice: one argument

        Stage s = Planner.plan(b.build(n, Action.collect()), view).finalStage();

        assertThat(s.tasks().get(0).preferredExecutors()).containsExactly("exec-1", "exec-0");
        assertThat(s.tasks().get(0).inputs()).containsExactly(new TaskInput.Inline(0), new TaskInput.Pinned(a),
                new TaskInput.Pinned(c), new TaskInput.Inline(new RangeSplit(0, 10)));
        assertThat(s.function().paths().get(0).pinArgs()).containsExactly(1, 2, 1);
    }

    @Test
    void persistedPartitionsArePinnedWhereTheyLive() {
        RefId p0 = new RefId(2, 1);
        RefId p1 = new RefId(2, 2);
        ClusterView view = TWO.withRef(p0, false, "exec-1").withRef(p1, false, "exec-0");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.narrow(Kind.MAP, b.add(LogicalNode.persisted(List.of(p0, p1))), FN));

        Stage s = Planner.plan(b.build(n, Action.collect()), view).finalStage();

        assertThat(s.parents()).isEmpty();
        assertThat(s.operators()).containsExactly("persisted", "map");
        assertThat(s.tasks().get(0).inputs()).containsExactly(new TaskInput.Inline(0), new TaskInput.Pinned(p0));
        assertThat(s.tasks().get(0).preferredExecutors()).containsExactly("exec-1");
        assertThat(s.tasks().get(1).preferredExecutors()).containsExactly("exec-0");
        assertThat(s.pinnedInputs()).extracting(PinnedInput::describe)
                .containsExactly("pinned on exec-1 ref-2-1", "pinned on exec-0 ref-2-2");
    }

    @Test
    void aPersistedNodeEndsAStageThatItsConsumersShare() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.narrow(Kind.MAP, b.add(LogicalNode.range(0, 10, 2)), FN));
        b.markPersist(n);
        int left = b.add(LogicalNode.narrow(Kind.FILTER, n, FN));
        int right = b.add(LogicalNode.narrow(Kind.MAP, n, FN));
        int u = b.add(LogicalNode.union(left, right));

        PhysicalPlan p = plan(b, u);

        assertThat(p.stages()).hasSize(2);
        assertThat(p.stage(0).kind()).isEqualTo(Stage.Kind.PERSIST);
        assertThat(p.stage(0).operators()).containsExactly("range(0..10)", "map");
        assertThat(p.persistedOutputs()).containsExactly(new PersistedOutput(n, 0, 2));
        Stage result = p.stage(1);
        assertThat(result.parents()).containsExactly(0);
        assertThat(result.partitions()).isEqualTo(4);
        assertThat(result.tasks().get(3).inputs()).containsExactly(new TaskInput.Inline(3),
                new TaskInput.StageOutput(0, 1, 0));
    }

    @Test
    void aPersistedRootIsKeptAndThenAnswered() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.narrow(Kind.KEY_BY, b.add(LogicalNode.range(0, 10, 2)), FN));
        n = b.add(LogicalNode.reduceByKey(n, FN, 3));
        b.markPersist(n);

        PhysicalPlan p = plan(b, n);

        assertThat(p.stages()).extracting(Stage::kind)
                .containsExactly(Stage.Kind.SHUFFLE_MAP, Stage.Kind.PERSIST, Stage.Kind.RESULT);
        assertThat(p.persistedOutputs()).containsExactly(new PersistedOutput(n, 1, 3));
        assertThat(p.stage(2).parents()).containsExactly(1);
    }

    @Test
    void aShuffleOverAPersistedNodeReadsTheKeptPartitions() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.narrow(Kind.KEY_BY, b.add(LogicalNode.range(0, 10, 2)), FN));
        b.markPersist(n);
        int g = b.add(LogicalNode.groupByKey(n, 2));

        PhysicalPlan p = plan(b, g);

        assertThat(p.stages()).extracting(Stage::kind)
                .containsExactly(Stage.Kind.PERSIST, Stage.Kind.SHUFFLE_MAP, Stage.Kind.RESULT);
        assertThat(p.stage(1).parents()).containsExactly(0);
        assertThat(p.stage(1).operators()).containsExactly("persisted(keyBy)");
    }

    @Test
    void textFileIsCutIntoByteRanges() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.textFile("/data/f.txt", 10, 3));
        Stage s = plan(b, n).finalStage();
        assertThat(s.tasks()).extracting(t -> t.inputs().get(1)).containsExactly(
                new TaskInput.Inline(new TextSplit("/data/f.txt", 0, 3)),
                new TaskInput.Inline(new TextSplit("/data/f.txt", 3, 6)),
                new TaskInput.Inline(new TextSplit("/data/f.txt", 6, 10)));
    }

    @Test
    void rangeSplitsCoverTheRangeWithoutOverflow() {
        assertThat(Planner.split(Long.MIN_VALUE, Long.MAX_VALUE, 0, 3)).isEqualTo(Long.MIN_VALUE);
        assertThat(Planner.split(Long.MIN_VALUE, Long.MAX_VALUE, 3, 3)).isEqualTo(Long.MAX_VALUE);
        long prev = Long.MIN_VALUE;
        for (int i = 1; i <= 7; i++) {
            long next = Planner.split(Long.MIN_VALUE, Long.MAX_VALUE, i, 7);
            assertThat(next).isGreaterThan(prev);
            prev = next;
        }
        assertThat(Planner.split(5, 2, 1, 3)).isEqualTo(5); // empty range: empty splits
    }

    @Test
    void explainPrintsOneBlockPerStage() {
        RefId stop = new RefId(1, 2);
        RefId lookup = new RefId(1, 3);
        ClusterView view = TWO.withRef(stop, true, "exec-0", "exec-1").withRef(lookup, false, "exec-1");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.textFile("/in.txt", 100, 2));
        n = b.add(LogicalNode.narrow(Kind.FLAT_MAP, n, FN));
        n = b.add(LogicalNode.pinned(Kind.FILTER_PINNED, n, FN, stop, true));
        n = b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, n, FN));
        n = b.add(LogicalNode.reduceByKey(n, FN, 2));
        n = b.add(LogicalNode.pinned(Kind.MAP_PINNED, n, FN, lookup, false));

        String text = Planner.plan(b.build(n, Action.collect()), view).explain();

        assertThat(text).isEqualTo("""
                physical plan: 2 stages, action collect
                stage 0 (shuffle map for reduceByKey with map-side combine, 2 buckets)
                  operators: textFile(/in.txt) -> flatMap -> filter(pinned ref-1-2) -> mapToPair
                  partitions: 2
                  parents: none
                  pinned inputs: pinned broadcast ref-1-2
                  preferred executors: tasks 0-1: any
                stage 1 (result: collect)
                  operators: reduceByKey -> map(pinned ref-1-3)
                  partitions: 2
                  parents: stage 0 (shuffle: reduceByKey)
                  pinned inputs: pinned on exec-1 ref-1-3
                  preferred executors: tasks 0-1: exec-1
                """);
    }

    @Test
    void explainGroupsRunsOfEqualPreferences() {
        List<RefId> refs = List.of(new RefId(3, 1), new RefId(3, 2), new RefId(3, 3));
        ClusterView view = TWO.withRef(refs.get(0), false, "exec-0").withRef(refs.get(1), false, "exec-0");
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.persisted(refs));
        String text = Planner.plan(b.build(n, Action.count()), view).explain();
        assertThat(text).contains("  preferred executors: tasks 0-1: exec-0; task 2: any\n")
                .contains("pinned on <unknown> ref-3-3");
    }

    @Test
    void aThousandOperatorPipelinePlansWithoutDeepRecursion() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 1000, 8));
        for (int i = 0; i < 1000; i++) {
            n = b.add(LogicalNode.narrow(i % 2 == 0 ? Kind.MAP : Kind.FILTER, n, FN));
        }
        LogicalPlan plan = LogicalPlan.fromBytes(b.build(n, Action.collect()).toBytes());
        PhysicalPlan p = Planner.plan(plan, TWO);
        assertThat(p.stages()).hasSize(1);
        assertThat(p.finalStage().operators()).hasSize(1001);
        assertThat(p.explain()).contains("partitions: 8");
    }

    @Test
    void aThousandOperatorDagWithShufflesAndUnionsPlans() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 1000, 4));
        int shuffles = 0;
        for (int i = 0; i < 1000; i++) {
            if (i % 10 == 9) {
                n = b.add(LogicalNode.reduceByKey(n, FN, 4));
                shuffles++;
            } else if (i % 10 == 4) {
                n = b.add(LogicalNode.union(n, b.add(LogicalNode.range(0, 10, 1))));
                n = b.add(LogicalNode.repartition(n, 4));
                shuffles++;
            } else {
                n = b.add(LogicalNode.narrow(Kind.MAP_TO_PAIR, n, FN));
            }
        }
        PhysicalPlan p = Planner.plan(b.build(n, Action.count()), TWO);
        assertThat(p.stages()).hasSize(shuffles + 1);
        for (Stage s : p.stages()) {
            assertThat(s.parents()).allSatisfy(parent -> assertThat(parent).isLessThan(s.id()));
        }
    }

    @Test
    void aDeepUnionChainPlansIteratively() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int n = b.add(LogicalNode.range(0, 1, 1));
        for (int i = 1; i < 1000; i++) {
            n = b.add(LogicalNode.union(n, b.add(LogicalNode.range(i, i + 1, 1))));
        }
        Stage s = plan(b, n).finalStage();
        assertThat(s.partitions()).isEqualTo(1000);
        assertThat(s.tasks().get(999).inputs()).contains(new TaskInput.Inline(new RangeSplit(999, 1000)));
    }

    @Test
    void invalidPlansAreRejected() {
        LogicalPlan.Builder b = LogicalPlan.builder();
        int src = b.add(LogicalNode.range(0, 10, 2));
        assertThatThrownBy(() -> b.add(LogicalNode.narrow(Kind.MAP, src + 5, FN)))
                .hasMessageContaining("map: input 5 must be an earlier node");
        assertThatThrownBy(() -> LogicalPlan.builder().build(0, Action.collect()))
                .hasMessageContaining("root 0 is not a node");
        LogicalPlan.Builder zero = LogicalPlan.builder();
        int bad = zero.add(LogicalNode.repartition(zero.add(LogicalNode.range(0, 1, 1)), 0));
        assertThatThrownBy(() -> zero.build(bad, Action.collect()))
                .hasMessageContaining("repartition (node 1): partitions must be > 0, got 0");
        List<RefId> none = new ArrayList<>();
        LogicalPlan.Builder empty = LogicalPlan.builder();
        int e = empty.add(LogicalNode.persisted(none));
        assertThatThrownBy(() -> empty.build(e, Action.collect())).hasMessageContaining("partitions must be > 0");
    }
}
