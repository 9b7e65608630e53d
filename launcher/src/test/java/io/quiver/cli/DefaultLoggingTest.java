package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/** The default logging of quiver processes, and that a user's configuration wins over it. */
class DefaultLoggingTest {
    @Test
    void withoutAUserConfigurationItLogsInfoToStderrAndQuietsTheLibraries() {
        String property = System.clearProperty("logback.configurationFile"); // the test suite's own
        try {
            LoggerContext context = new LoggerContext();
            DefaultLogging logging = new DefaultLogging();
            logging.setContext(context);
            assertThat(logging.configure(context)).isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);
            ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
            assertThat(root.getLevel()).isEqualTo(Level.INFO);
            assertThat(root.getAppender("STDERR")).isInstanceOfSatisfying(ConsoleAppender.class,
                    a -> assertThat(a.getTarget()).isEqualTo("System.err"));
            assertThat(context.getLogger("org.apache.zookeeper").getEffectiveLevel()).isEqualTo(Level.WARN);
            assertThat(context.getLogger("org.apache.curator.framework").getEffectiveLevel()).isEqualTo(Level.WARN);
            assertThat(context.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
            assertThat(context.getLogger("org.apache.zookeeper.ClientCnxn").getEffectiveLevel())
                    .isEqualTo(Level.ERROR);
            assertThat(context.getLogger("io.quiver.executor.Executor").isInfoEnabled()).isTrue();
            context.stop();
        } finally {
            if (property != null) {
                System.setProperty("logback.configurationFile", property);
            }
        }
    }

    @Test
    void aConfigurationFileNamedByTheUserWins() {
        String previous = System.setProperty("logback.configurationFile", "their-logback.xml");
        try {
            LoggerContext context = new LoggerContext();
            DefaultLogging logging = new DefaultLogging();
            logging.setContext(context);
            assertThat(logging.configure(context)).isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
            assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("STDERR")).isNull();
        } finally {
            if (previous == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", previous);
            }
        }
    }
}
