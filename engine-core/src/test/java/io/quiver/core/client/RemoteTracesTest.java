package io.quiver.core.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.RemoteException;
import io.quiver.TaskFailedException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RemoteTracesTest {
    private static String printed(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }

    private static java.util.List<String> texts(StackTraceElement[] frames) {
        return Arrays.stream(frames).map(StackTraceElement::toString).toList();
    }

    static void userCode() {
        try {
            Integer.parseInt("x1");
        } catch (NumberFormatException e) {
            throw new IllegalStateException("bad row", e);
        }
    }

    @Test
    void rebuildsTypeMessageFramesAndCauses() {
        IllegalStateException original = null;
        try {
            userCode();
        } catch (IllegalStateException e) {
            original = e;
        }
        Throwable rebuilt = RemoteTraces.rebuild(original.getClass().getName(), original.getMessage(), printed(original));
        assertThat(rebuilt).isExactlyInstanceOf(IllegalStateException.class).hasMessage("bad row");
        // Compared as printed: the JDK hides the built-in loaders' names, which text cannot carry.
        assertThat(texts(rebuilt.getStackTrace())).isEqualTo(texts(original.getStackTrace()));
        assertThat(rebuilt.getCause()).isExactlyInstanceOf(NumberFormatException.class);
        // "... n more" is expanded from the enclosing trace, so the cause has its whole stack again.
        assertThat(texts(rebuilt.getCause().getStackTrace())).isEqualTo(texts(original.getCause().getStackTrace()));
        assertThat(printed(rebuilt)).isEqualTo(printed(original));
    }

    @Test
    void aTypeThatDoesNotLoadHereBecomesARemoteExceptionPrintingAsTheRemoteType() {
        String stack = "com.example.app.BadRecord: row 7\n"
                + "\tat app//com.example.app.Parser.parse(Parser.java:42)\n"
                + "\tat java.base/java.lang.Thread.run(Thread.java:840)\n";
        Throwable t = RemoteTraces.rebuild("com.example.app.BadRecord", "row 7", stack);
        assertThat(t).isInstanceOfSatisfying(RemoteException.class,
                r -> assertThat(r.remoteType()).isEqualTo("com.example.app.BadRecord"));
        assertThat(t.toString()).isEqualTo("com.example.app.BadRecord: row 7");
        assertThat(t.getStackTrace()[0]).isEqualTo(new StackTraceElement("app", null, null, "com.example.app.Parser",
                "parse", "Parser.java", 42));
        assertThat(t.getStackTrace()[1].getModuleName()).isEqualTo("java.base");
        assertThat(printed(t)).startsWith(stack);
    }

    @Test
    void taskFailedExceptionPrintsTheUsersLineInAnOrdinaryTrace() {
        String stack = "java.lang.ArithmeticException: / by zero\n"
                + "\tat com.example.Job.lambda$main$0(Job.java:17)\n"
                + "\tat io.quiver.executor.TaskRunner.run(TaskRunner.java:99)\n";
        TaskFailedException e = new TaskFailedException("java.lang.ArithmeticException", "/ by zero", stack, "t1", "exec-1", 1);
        assertThat(e.getCause()).isExactlyInstanceOf(ArithmeticException.class).hasMessage("/ by zero");
        assertThat(printed(e)).contains("Caused by: java.lang.ArithmeticException: / by zero")
                .contains("at com.example.Job.lambda$main$0(Job.java:17)");
    }

    @Test
    void garbageOrMissingStackStillGivesTheTypeAndMessage() {
        assertThat(RemoteTraces.rebuild("java.lang.IllegalArgumentException", "m", null))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("m");
        Throwable t = RemoteTraces.rebuild("no.such.Type", "m", "no.such.Type: m\n\tat nonsense\n\tat (x)\n");
        assertThat(t).isInstanceOf(RemoteException.class);
        assertThat(Arrays.asList(t.getStackTrace())).isEmpty();
    }
}
