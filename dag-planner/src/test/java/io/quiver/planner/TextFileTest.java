package io.quiver.planner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.quiver.Dataset;
import io.quiver.KV;
import io.quiver.QuiverException;
import io.quiver.Ref;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** textFile: byte-range splits that neither lose nor duplicate a line, whatever the split points. */
class TextFileTest {
    private static final int[] PARTITIONS = {1, 2, 3, 5, 8, 13, 64, 500};

    @TempDir
    Path dir;

    private final TestingJobService q = new TestingJobService();

    @AfterEach
    void close() {
        q.close();
    }

    /** Lines of random lengths (empty ones, short ones, ones longer than a split), some multi-byte. */
    private static List<String> randomLines(long seed, int count) {
        Random r = new Random(seed);
        List<String> lines = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int len = switch (r.nextInt(6)) {
                case 0 -> 0;
                case 1 -> 1;
                case 2 -> 300 + r.nextInt(300);
                default -> r.nextInt(40);
            };
            StringBuilder sb = new StringBuilder(len);
            for (int j = 0; j < len; j++) {
                sb.append(r.nextInt(20) == 0 ? 'é' : (char) ('a' + r.nextInt(26)));
            }
            lines.add(sb.toString());
        }
        lines.add("the end"); // a file without a final eol cannot end in an empty line
        return lines;
    }

    private Path write(String name, List<String> lines, String eol, boolean trailingEol) throws IOException {
        String text = String.join(eol, lines) + (trailingEol ? eol : "");
        Path file = dir.resolve(name);
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }

    @ParameterizedTest
    @ValueSource(strings = {"\n", "\r\n"})
    void everyLineIsReadOnceWhateverTheSplits(String eol) throws IOException {
        List<String> lines = randomLines(eol.length(), 400);
        for (boolean trailing : new boolean[] {true, false}) {
            Path file = write("f" + eol.length() + trailing + ".txt", lines, eol, trailing);
            for (int p : PARTITIONS) {
                Dataset<String> d = q.textFile(file.toString(), p);
                assertThat(d.partitions()).isEqualTo(p);
                assertThat(d.collect()).as("%d partitions, trailing eol %s", p, trailing).isEqualTo(lines);
            }
        }
    }

    @Test
    void splitsLandingOnLineBoundariesLoseNothing() throws IOException {
        // 10 lines of 9 chars + \n: every split of 10 partitions starts exactly at a line start.
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            lines.add("line-" + (1000 + i));
        }
        Path file = write("aligned.txt", lines, "\n", true);
        assertThat(Files.size(file)).isEqualTo(100);
        for (int p : new int[] {10, 20, 5, 9, 11, 100, 101}) {
            assertThat(q.textFile(file.toString(), p).collect()).as("%d partitions", p).isEqualTo(lines);
        }
    }

    @Test
    void emptyFilesAndEmptyLines() throws IOException {
        Path empty = dir.resolve("empty.txt");
        Files.write(empty, new byte[0]);
        assertThat(q.textFile(empty.toString(), 3).collect()).isEmpty();
        Path blanks = dir.resolve("blanks.txt");
        Files.writeString(blanks, "\n\n\r\n\n");
        assertThat(q.textFile(blanks.toString(), 3).collect()).containsExactly("", "", "", "");
        Path noEol = dir.resolve("one.txt");
        Files.writeString(noEol, "just one line");
        assertThat(q.textFile(noEol.toString(), 4).collect()).containsExactly("just one line");
    }

    @Test
    void aMissingFileFailsOnTheClientNamingIt() {
        Path missing = dir.resolve("nope.txt");
        assertThatThrownBy(() -> q.textFile(missing.toString(), 2)).isInstanceOf(QuiverException.class)
                .hasMessageStartingWith("textFile: cannot read " + missing.toAbsolutePath())
                .hasMessageContaining("give a path of a file that the client and every executor can read");
        assertThatThrownBy(() -> q.textFile(missing.toString(), 0)).isInstanceOf(QuiverException.class);
    }

    @Test
    void wordCountWithBroadcastStopWordsMatchesStreams() throws IOException {
        Random r = new Random(42);
        String[] vocabulary = {"the", "a", "of", "quiver", "arrow", "bow", "stage", "task", "shuffle", "dag"};
        List<String> lines = new ArrayList<>();
        long bytes = 0;
        while (bytes < 2_000_000) {
            StringBuilder sb = new StringBuilder();
            int words = r.nextInt(15);
            for (int i = 0; i < words; i++) {
                sb.append(i == 0 ? "" : r.nextBoolean() ? " " : "  ").append(vocabulary[r.nextInt(vocabulary.length)]);
                if (r.nextInt(10) == 0) {
                    sb.append(r.nextInt(50));
                }
            }
            lines.add(sb.toString());
            bytes += sb.length() + 1;
        }
        Path file = write("corpus.txt", lines, "\n", true);
        Ref<Set<String>> stop = q.scatter(Set.of("the", "a", "of"), true);

        Map<String, Long> counts = q.textFile(file.toString(), 8)
                .flatMap(line -> Arrays.asList(line.split("\\s+")))
                .filter(w -> !w.isEmpty())
                .filter(stop, (w, stopWords) -> !stopWords.contains(w))
                .mapToPair(w -> KV.of(w, 1L))
                .reduceByKey(Long::sum)
                .collectAsMap();

        Map<String, Long> expected = lines.stream()
                .flatMap(line -> Arrays.stream(line.split("\\s+")))
                .filter(w -> !w.isEmpty() && !Set.of("the", "a", "of").contains(w))
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(counts).isEqualTo(expected);
    }
}
