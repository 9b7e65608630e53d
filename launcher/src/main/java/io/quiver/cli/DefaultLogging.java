package io.quiver.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.Logger;

/**
 * Logging for the quiver command and local clusters, unless the user configures it: INFO to
 * stderr (stdout stays for command output), and ZooKeeper, Curator and Netty only when something
 * is wrong. Logback finds this through {@code META-INF/services}.
 *
 * <p>It is code, not a {@code logback.xml}, because reading the XML was the largest single cost of
 * starting a JVM here: 200-270 ms of a cold {@code LoggerFactory.getLogger}, paid by every executor
 * and coordinator process and by the JVM of a {@code LocalCluster}.
 *
 * <p>A {@code logback.configurationFile} property, or a {@code logback-test.xml} or
 * {@code logback.xml} on the class path, wins: this then steps aside for logback's own lookup.
 * Called once, by logback, on the thread that first asks for a logger.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_LOW_PRIORITY)
public final class DefaultLogging extends ContextAwareBase implements Configurator {
    private static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{30} - %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader loader = DefaultLogging.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null || loader.getResource("logback-test.xml") != null
                || loader.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.INFO);
        root.addAppender(stderr);
        context.getLogger("org.apache.zookeeper").setLevel(Level.WARN);
        context.getLogger("org.apache.curator").setLevel(Level.WARN);
        context.getLogger("io.netty").setLevel(Level.WARN);
        // While ZooKeeper is down, the client warns with a stack trace on every reconnect attempt;
        // Quiver's OutageLog says it once per retry period instead.
        context.getLogger("org.apache.zookeeper.ClientCnxn").setLevel(Level.ERROR);
        // Warns on every start that the (optional) global connection cap is unset.
        context.getLogger("org.apache.zookeeper.server.ServerCnxnFactory").setLevel(Level.ERROR);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
