package io.quiver.e2e;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.PairDataset;
import io.quiver.Quiver;
import io.quiver.QuiverException;
import io.quiver.Ref;
import io.quiver.Scatter;
import io.quiver.TaskFailedException;
import io.quiver.executor.ExecutorStats;
import io.quiver.local.LocalCluster;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Datasets (API.md section 3) end to end on a LocalCluster of two in-process executors: a word
 * count over a generated multi-megabyte file, a join, explain, errors, async collect, persist, a
 * shuffle that spills, and the locality of persisted partitions.
 */
class DatasetsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Set<String> STOP_WORDS = Set.of("the", "a", "of", "and", "to");
    /** Counts map calls on the in-process executors (they share this JVM and class loader). */
    private static final AtomicLong MAPPED = new AtomicLong();

    static LocalCluster cluster;
    static Quiver q;

    @BeforeAll
    static void start() {
        cluster = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(256L << 20));
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

    // ---- word count and join

    @Test
    void wordCountOverAMultiMegabyteFileWithBroadcastStopWordsAgreesWithStreams(@TempDir Path dir) throws IOException {
        Path corpus = writeCorpus(dir.resolve("corpus.txt"), 120_000, 7);
        assertThat(Files.size(corpus)).isGreaterThan(4L << 20);

        Ref<Set<String>> stop = q.scatter(STOP_WORDS, Scatter.broadcast());
        Map<String, Long> counts = q.textFile(corpus.toString(), 8)
                .flatMap(line -> Arrays.asList(line.split("\\s+")))
                .filter(w -> !w.isEmpty())
                .filter(stop, (w, stopWords) -> !stopWords.contains(w))
                .mapToPair(w -> KV.of(w, 1L))
                .reduceByKey(Long::sum)
                .collectAsMap();

        Map<String, Long> expected;
        try (Stream<String> lines = Files.lines(corpus)) {
            expected = lines.flatMap(line -> Arrays.stream(line.split("\\s+")))
                    .filter(w -> !w.isEmpty())
                    .filter(w -> !STOP_WORDS.contains(w))
                    .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        }
        assertThat(counts).hasSize(expected.size()).isEqualTo(expected);
        assertThat(counts.keySet()).doesNotContainAnyElementsOf(STOP_WORDS);
        // the splits neither lose nor duplicate a line
        try (Stream<String> lines = Files.lines(corpus)) {
            assertThat(q.textFile(corpus.toString(), 8).count()).isEqualTo(lines.count());
        }
        stop.close();
    }

    /**
     * {@code lines} lines of pseudo-random words (seeded, so every run writes the same file):
     * frequent stop words, a Zipf-like vocabulary, and now and then a run of spaces or a leading
     * space, which split into empty words.
     */
    static Path writeCorpus(Path file, int lines, long seed) throws IOException {
        Random random = new Random(seed);
        String[] vocabulary = new String[3_000];
        for (int i = 0; i < vocabulary.length; i++) {
            StringBuilder w = new StringBuilder();
            int length = 2 + random.nextInt(8);
            for (int c = 0; c < length; c++) {
                w.append((char) ('a' + random.nextInt(26)));
            }
            vocabulary[i] = w.toString();
        }
        String[] stop = STOP_WORDS.stream().sorted().toArray(String[]::new);
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            StringBuilder line = new StringBuilder();
            for (int l = 0; l < lines; l++) {
                line.setLength(0);
                if (random.nextInt(20) == 0) {
                    line.append(' ');
                }
                int words = 4 + random.nextInt(12);
                for (int w = 0; w < words; w++) {
                    if (w > 0) {
                        line.append(random.nextInt(30) == 0 ? "   " : " ");
                    }
                    if (random.nextInt(5) == 0) {
                        line.append(stop[random.nextInt(stop.length)]);
                    } else {
                        // skewed towards the first words, as in natural text
                        double u = random.nextDouble();
                        line.append(vocabulary[(int) (vocabulary.length * u * u * u)]);
                    }
                }
                out.write(line.toString());
                out.write('\n');
            }
        }
        return file;
    }

    @Test
    void aJoinPairsEveryMatchingValue() {
        PairDataset<String, Integer> left = q.parallelize(List.of(KV.of("a", 1), KV.of("b", 2), KV.of("a", 3),
                KV.of("c", 4)), 2).mapToPair(kv -> kv);
        PairDataset<String, String> right = q.parallelize(List.of(KV.of("a", "x"), KV.of("b", "y"), KV.of("b", "z"),
                KV.of("d", "w")), 3).mapToPair(kv -> kv);

        List<KV<String, KV<Integer, String>>> joined = left.join(right).collect();

        // by hand: a -> {1, 3} x {x}; b -> {2} x {y, z}; c and d have no partner
        assertThat(joined).containsExactlyInAnyOrder(
                KV.of("a", KV.of(1, "x")), KV.of("a", KV.of(3, "x")),
                KV.of("b", KV.of(2, "y")), KV.of("b", KV.of(2, "z")));
        assertThat(left.join(right).partitions()).isEqualTo(3);
    }

    // ---- explain

    @Test
    void explainNamesBroadcastAndScatteredPinnedInputs() {
        String holder = cluster.executorIds().get(1);
        try (Ref<Integer> offset = q.scatter(10, Scatter.broadcast());
             Ref<Set<Long>> banned = q.scatter(Set.of(3L, 5L), Scatter.on(holder))) {
            Dataset<Long> d = q.range(0, 20, 4)
                    .map(offset, (x, off) -> x + off)
                    .filter(banned, (x, b) -> !b.contains(x % 10));
            String plan = d.explain();

            assertThat(plan).contains("stage 0")
                    .contains("pinned broadcast " + offset.id())
                    .contains("pinned on " + holder + " " + banned.id());
            assertThat(plan).contains("map(pinned " + offset.id() + ")").contains("filter(pinned " + banned.id() + ")");
            // explain runs nothing; the pipeline still computes what streams do
            assertThat(d.collect()).isEqualTo(LongStream.range(0, 20).map(x -> x + 10)
                    .filter(x -> x % 10 != 3 && x % 10 != 5).boxed().toList());
        }
    }

    // ---- errors

    @Test
    void reduceOfAnEmptyDatasetThrows() {
        Dataset<Long> empty = q.range(0, 100, 4).filter(x -> x < 0);
        assertThatThrownBy(() -> empty.reduce(Long::sum))
                .isExactlyInstanceOf(QuiverException.class).hasMessage("reduce of empty dataset");
        assertThat(empty.count()).isZero();
        assertThat(q.range(5, 5, 3).collect()).isEmpty();
    }

    @Test
    void aNullKeyInReduceByKeyFailsTheJobNamingTheOperator() {
        PairDataset<Integer, Integer> pairs = q.parallelize(Arrays.asList(1, 2, null, 4), 2).keyBy(x -> x);
        assertThatThrownBy(() -> pairs.reduceByKey(Integer::sum).collect())
                .isInstanceOfSatisfying(TaskFailedException.class, e -> {
                    assertThat(e.getMessage()).contains("reduceByKey").contains("null key");
                    assertThat(e.remoteMessage()).contains("filter them out or replace them before reduceByKey");
                    assertThat(e.executorId()).isIn(cluster.executorIds());
                });
        // the cluster keeps working, and nulls as values are fine
        assertThat(q.parallelize(Arrays.asList(1, 2, null, 4), 2).keyBy(x -> x == null ? 0 : 1)
                .groupByKey().collectAsMap()).containsOnlyKeys(0, 1);
    }

    @Test
    void invalidPlansFailOnTheClientNamingTheOperatorAndTheFix() {
        Dataset<Long> d = q.range(0, 10, 2);
        assertThatThrownBy(() -> q.range(0, 10, 0)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("range: partitions must be > 0, got 0")
                .hasMessageContaining("pass a positive partition count");
        assertThatThrownBy(() -> q.parallelize(List.of(1), -1)).hasMessageContaining("parallelize: partitions must be > 0");
        assertThatThrownBy(() -> d.repartition(0)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("repartition: partitions must be > 0, got 0");
        assertThatThrownBy(() -> d.mapToPair(x -> KV.of(x, x)).reduceByKey(Long::sum, -2))
                .isInstanceOf(QuiverException.class).hasMessageContaining("reduceByKey: partitions must be > 0, got -2");

        // a released ref: when the pipeline is built, and when it is released after that
        Ref<Long> released = q.scatter(1L, Scatter.broadcast());
        Dataset<Long> built = d.map(released, (x, r) -> x + r);
        released.close();
        assertThatThrownBy(() -> d.map(released, (x, r) -> x + r)).isInstanceOf(QuiverException.class)
                .hasMessageContaining("map(pinned)").hasMessageContaining(released.id().toString())
                .hasMessageContaining("was released").hasMessageContaining("scatter the value again");
        assertThatThrownBy(built::collect).isInstanceOf(QuiverException.class)
                .hasMessageContaining("map(pinned)").hasMessageContaining("was released");

        try (Quiver other = cluster.connect()) {
            Ref<Set<Long>> foreignRef = other.scatter(Set.of(1L), Scatter.broadcast());
            assertThatThrownBy(() -> d.filter(foreignRef, (x, s) -> !s.contains(x))).isInstanceOf(QuiverException.class)
                    .hasMessageContaining("filter(pinned)").hasMessageContaining("different Quiver")
                    .hasMessageContaining("scatter the value with this one");
            Dataset<Long> foreign = other.range(0, 5, 1);
            assertThatThrownBy(() -> d.union(foreign)).isInstanceOf(QuiverException.class)
                    .hasMessageContaining("union: dataset was created by a different Quiver")
                    .hasMessageContaining("build it from this one");
            assertThatThrownBy(() -> d.mapToPair(x -> KV.of(x, x)).join(foreign.mapToPair(x -> KV.of(x, x))))
                    .isInstanceOf(QuiverException.class).hasMessageContaining("join: dataset was created by a different Quiver");
        }
        assertThat(d.collect()).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    }

    // ---- async collect, persist

    @Test
    void collectAsyncCompletesARef() throws Exception {
        Ref<List<Long>> squares = q.range(0, 10, 3).map(x -> x * x).collectAsync();
        assertThat(squares.result(WAIT)).containsExactly(0L, 1L, 4L, 9L, 16L, 25L, 36L, 49L, 64L, 81L);
        assertThat(squares.isDone()).isTrue();
        Ref<List<KV<Long, Long>>> sums = q.range(0, 100, 4).mapToPair(x -> KV.of(x % 2, x)).reduceByKey(Long::sum)
                .collectAsync();
        assertThat(sums.toCompletableFuture().get(60, SECONDS))
                .containsExactlyInAnyOrder(KV.of(0L, 2450L), KV.of(1L, 2500L));
    }

    @Test
    void persistKeepsPartitionsOnExecutorsUntilUnpersist() {
        List<Long> expected = LongStream.range(0, 20_000).map(x -> x * 3).boxed().toList();
        long before = MAPPED.get();
        Dataset<Long> tripled = q.range(0, 20_000, 4).map(DatasetsTest::countedTriple).persist();
        assertThat(tripled.collect()).isEqualTo(expected);
        long afterFirst = MAPPED.get();
        assertThat(afterFirst - before).isEqualTo(20_000);
        long blocksPersisted = sum(ExecutorStats::blocks);

        // later jobs read the kept partitions: nothing is recomputed, and the plan pins them
        assertThat(tripled.count()).isEqualTo(20_000);
        assertThat(tripled.filter(x -> x % 2 == 0).reduce(Long::sum))
                .isEqualTo(expected.stream().filter(x -> x % 2 == 0).mapToLong(x -> x).sum());
        assertThat(MAPPED.get()).isEqualTo(afterFirst);
        assertThat(tripled.map(x -> x + 1).explain()).contains("persisted").contains("pinned on ");

        // unpersist releases them on the executors; later jobs recompute from lineage
        tripled.unpersist();
        await().atMost(WAIT).until(() -> sum(ExecutorStats::blocks) <= blocksPersisted - 4);
        assertThat(tripled.map(x -> x + 1).explain()).doesNotContain("pinned on ");
        assertThat(tripled.collect()).isEqualTo(expected);
        assertThat(MAPPED.get()).isEqualTo(afterFirst + 20_000);
    }

    static long countedTriple(long x) {
        MAPPED.incrementAndGet();
        return x * 3;
    }

    // ---- locality of persisted partitions

    @Test
    void aPersistedDatasetReusedByASecondJobMovesNoPartitionData() {
        Dataset<Long> kept = q.range(0, 400_000, 8).map(x -> x * 7 % 1_000).persist();
        assertThat(kept.count()).isEqualTo(400_000);

        long fetchedBefore = sum(ExecutorStats::bytesFetched);
        long tasksBefore = sum(ExecutorStats::tasksRun);
        long total = kept.filter(x -> x % 3 == 0).map(x -> x + 1).reduce(Long::sum);
        long fetched = sum(ExecutorStats::bytesFetched) - fetchedBefore;

        assertThat(total).isEqualTo(LongStream.range(0, 400_000).map(x -> x * 7 % 1_000).filter(x -> x % 3 == 0)
                .map(x -> x + 1).sum());
        assertThat(sum(ExecutorStats::tasksRun) - tasksBefore).isGreaterThanOrEqualTo(8);
        assertThat(fetched).as("bytes fetched between executors by the job over persisted partitions").isZero();
        kept.unpersist();
    }

    // ---- spill

    @Test
    void aShuffleLargerThanExecutorMemorySpillsAndCompletes() {
        long memory = 16L << 20;
        int rows = 400_000;
        int keys = 1_000;
        try (LocalCluster small = LocalCluster.start(LocalCluster.options().executors(2).executorMemory(memory));
             Quiver sq = small.connect()) {
            // about 110 bytes a row, so ~45 MB of shuffle: several times each executor's 16 MiB
            Map<Integer, Long> sums = sq.range(0, rows, 16)
                    .mapToPair(i -> KV.of((int) (i % keys), i + ":" + "x".repeat(96)))
                    .groupByKey()
                    .mapValues(DatasetsTest::sumOfPrefixes)
                    .collectAsMap();

            Map<Integer, Long> expected = new HashMap<>();
            for (long i = 0; i < rows; i++) {
                expected.merge((int) (i % keys), i, Long::sum);
            }
            assertThat(sums).isEqualTo(expected);
            long spills = 0;
            long fetched = 0;
            List<String> perExecutor = new ArrayList<>();
            for (String id : small.executorIds()) {
                ExecutorStats s = small.executor(id).stats();
                spills += s.spills();
                fetched += s.bytesFetched();
                perExecutor.add(id + ": " + s);
            }
            // about half the buckets cross to the other executor: the whole shuffle is about twice this
            assertThat(fetched).as("shuffle bytes fetched between executors").isGreaterThan(memory);
            assertThat(spills).as("blocks spilled, per executor %s", perExecutor).isPositive();
        }
    }

    static long sumOfPrefixes(List<String> values) {
        long sum = 0;
        for (String v : values) {
            sum += Long.parseLong(v.substring(0, v.indexOf(':')));
        }
        return sum;
    }

    /** A counter summed over the executors of the shared cluster. */
    private static long sum(ToLongFunction<ExecutorStats> counter) {
        long total = 0;
        for (String id : cluster.executorIds()) {
            total += counter.applyAsLong(cluster.executor(id).stats());
        }
        return total;
    }
}
