package io.quiver.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.quiver.core.metrics.PrometheusText.Scrape;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * The strict reader that the metric tests rely on: it reads what the Prometheus client library
 * writes, and it refuses what a Prometheus server would not take, naming the line.
 */
class PrometheusTextTest {

    @Test
    void readsWhatThePrometheusClientWrites() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter tasks = Counter.builder().name("quiver_executor_tasks_total").help("Tasks run.")
                .labelNames("executor").register(registry);
        Gauge used = Gauge.builder().name("quiver_executor_memory_used_bytes").help("Bytes held.")
                .labelNames("executor").register(registry);
        tasks.labelValues("exec-1").inc(3);
        tasks.labelValues("exec-\"2\"").inc();
        used.labelValues("exec-1").set(1.5e9);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());

        Scrape s = PrometheusText.parse(out.toString(StandardCharsets.UTF_8));
        assertThat(s.types()).containsEntry("quiver_executor_memory_used_bytes", "gauge");
        assertThat(s.value("quiver_executor_tasks_total", "executor", "exec-1")).isEqualTo(3);
        assertThat(s.value("quiver_executor_tasks_total", "executor", "exec-\"2\"")).isEqualTo(1);
        assertThat(s.value("quiver_executor_memory_used_bytes", "executor", "exec-1")).isEqualTo(1.5e9);
        assertThat(s.value("quiver_executor_tasks_total", "executor", "exec-9")).isNaN();
    }

    @Test
    void readsLabelsEscapesTimestampsAndSpecialValues() {
        Scrape s = PrometheusText.parse("""
                # HELP m_total A counter.
                # TYPE m_total counter
                m_total{a="x\\\\y",b="line\\nnext"} 2 1700000000000
                # TYPE g gauge
                g +Inf
                g{k="v"} -1.5e-3
                """);
        assertThat(s.samples()).hasSize(3);
        assertThat(s.samples().get(0).labels()).isEqualTo(Map.of("a", "x\\y", "b", "line\nnext"));
        assertThat(s.value("g")).isInfinite();
        assertThat(s.value("g", "k", "v")).isEqualTo(-0.0015);
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', value = {
        "m 1\\n| a sample before its family's TYPE line",
        "# TYPE m gauge\\n# TYPE m gauge\\nm 1\\n| a second TYPE for m",
        "# TYPE m gauge\\nm 1| does not end with a newline",
        "# TYPE m gauge\\nm 1d\\n| an invalid value '1d'",
        "# TYPE m gauge\\nm 0x10\\n| an invalid value '0x10'",
        "# TYPE m gauge\\nm{k=v} 1\\n| an unquoted label value",
        "# TYPE m gauge\\nm{k=\"v\",k=\"w\"} 1\\n| label k twice",
        "# TYPE m gauge\\nm{0k=\"v\"} 1\\n| an invalid label name '0k'",
        "# TYPE m gauge\\nm{k=\"v} 1\\n| an unterminated label value",
        "# TYPE m gauge\\nm 1 soon\\n| an invalid timestamp",
        "# TYPE m gauge\\n\\nm 1\\n| an empty line",
        "# TYPE m meter\\nm 1\\n| a malformed TYPE line",
        "# TYPE 9m gauge\\n9m 1\\n| a malformed TYPE line",
    })
    void refusesWhatPrometheusWouldNotTakeAndSaysWhichLine(String text, String why) {
        assertThatThrownBy(() -> PrometheusText.parse(text.replace("\\n", "\n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(why);
    }
}
