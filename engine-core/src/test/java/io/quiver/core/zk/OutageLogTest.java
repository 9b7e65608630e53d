package io.quiver.core.zk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A real ZooKeeper goes down and comes back: one line per period while it is down, no stack traces. */
class OutageLogTest {
    @Test
    void oneLinePerPeriodWhileDownThenOneWhenBack() throws Exception {
        ListAppender<ILoggingEvent> lines = new ListAppender<>();
        lines.start();
        Logger logger = (Logger) LoggerFactory.getLogger(OutageLog.class);
        logger.addAppender(lines);
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        try (TestingServer server = new TestingServer(true);
             CuratorFramework client = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                     .sessionTimeoutMs(30_000).connectionTimeoutMs(1_000)
                     .retryPolicy(new ExponentialBackoffRetry(50, 3, 200)).build()) {
            OutageLog outage = new OutageLog(server.getConnectString(), 300);
            client.getConnectionStateListenable().addListener(outage);
            client.start();
            assertThat(client.blockUntilConnected(10, TimeUnit.SECONDS)).isTrue();

            server.stop();
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> texts(lines).stream().filter(t -> t.contains("still unreachable")).count() >= 3);
            List<String> down = texts(lines);
            assertThat(down.get(0)).contains("is unreachable; retrying");
            assertThat(down.stream().filter(t -> t.contains("is unreachable;")).count()).isEqualTo(1);

            server.restart();
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> texts(lines).stream().anyMatch(t -> t.contains("reachable again")));
            assertThat(lines.list).allSatisfy(e -> assertThat(e.getThrowableProxy()).isNull());
            int after = texts(lines).size();
            outage.close();
            assertThat(texts(lines)).hasSize(after);
        } finally {
            logger.detachAppender(lines);
            logger.setLevel(level);
        }
    }

    private static List<String> texts(ListAppender<ILoggingEvent> lines) {
        synchronized (lines.list) {
            return List.copyOf(lines.list).stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }
}
