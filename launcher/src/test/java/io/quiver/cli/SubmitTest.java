package io.quiver.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.quiver.Quiver;
import io.quiver.local.LocalCluster;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quiver submit} end to end: an application jar and a library jar compiled and packed by the
 * test, run against a real in-process cluster; and the errors for what is missing.
 */
class SubmitTest {
    /** The app: connects with Quiver.connect(), uses the cluster, and writes what it saw to args[0]. */
    private static final String APP = """
            package demo;

            import io.quiver.Quiver;
            import io.quiver.Ref;
            import java.nio.file.Files;
            import java.nio.file.Path;
            import java.util.List;

            public class App {
                public static void main(String[] args) throws Exception {
                    try (Quiver q = Quiver.connect()) {
                        Ref<String> ref = q.scatter("stored on the cluster");
                        List<String> back = q.gather(List.of(ref));
                        String seen = String.join("|", args) + "\\n"
                                + System.getProperty("quiver.url") + "\\n"
                                + System.getProperty("quiver.jars") + "\\n"
                                + (Thread.currentThread().getContextClassLoader() == App.class.getClassLoader()) + "\\n"
                                + q.cluster().executors().size() + "\\n"
                                + back.get(0) + "\\n"
                                + lib.Greeting.hello();
                        Files.writeString(Path.of(args[0]), seen);
                    }
                }
            }
            """;
    private static final String LIB = """
            package lib;

            public class Greeting {
                public static String hello() {
                    return "hello from the --jars jar";
                }
            }
            """;
    private static final String BOOM = """
            package demo;

            public class Boom {
                public static void main(String[] args) {
                    throw new IllegalStateException("the app's own failure");
                }
            }
            """;
    private static final String NO_MAIN = """
            package demo;

            public class NoMain {
                public void main() {}
            }
            """;

    @TempDir
    static Path dir;

    static LocalCluster cluster;
    static Path appJar;
    static Path libJar;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeAll
    static void buildJarsAndStartCluster() throws Exception {
        libJar = jar("lib", Path.of("lib/Greeting.java"), LIB, List.of());
        appJar = jar("app", Path.of("demo/App.java"), APP, List.of(libJar),
                Path.of("demo/Boom.java"), BOOM, Path.of("demo/NoMain.java"), NO_MAIN);
        cluster = LocalCluster.start(LocalCluster.options().executors(1));
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private int run(String... args) {
        return QuiverCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
    }

    @Test
    void runsMainAgainstTheClusterWithItsArgsUnchanged() throws IOException {
        Path seen = dir.resolve("seen.txt");
        String url = cluster.zkConnectString();
        int code = run("submit", "--zk", url, "--jars", libJar.toString(), "--class", "demo.App", appJar.toString(),
                seen.toString(), "--class", "two words", "-x", "--help");
        assertThat(code).as(err.toString()).isZero();
        List<String> lines = Files.readAllLines(seen);
        assertThat(lines.get(0)).isEqualTo(seen + "|--class|two words|-x|--help");
        assertThat(lines.get(1)).isEqualTo(url);
        assertThat(lines.get(2)).isEqualTo(appJar.toAbsolutePath() + File.pathSeparator + libJar.toAbsolutePath());
        assertThat(lines.get(3)).as("the app's loader is the context loader").isEqualTo("true");
        assertThat(lines.get(4)).isEqualTo("1");
        assertThat(lines.get(5)).isEqualTo("stored on the cluster");
        assertThat(lines.get(6)).isEqualTo("hello from the --jars jar");
        assertThat(System.getProperty("quiver.url")).as("restored after main").isNull();
        assertThat(System.getProperty("quiver.jars")).isNull();
    }

    @Test
    void theSettingsCanComeFromAConfigFile() throws IOException {
        Path seen = dir.resolve("seen-config.txt");
        Path config = Files.writeString(dir.resolve("submit.properties"), "zk=" + cluster.zkConnectString()
                + "\nclass=demo.App\njars=" + libJar + "\n");
        assertThat(run("submit", "--config", config.toString(), appJar.toString(), seen.toString())).as(err.toString())
                .isZero();
        assertThat(Files.readAllLines(seen).get(6)).isEqualTo("hello from the --jars jar");
    }

    @Test
    void aMissingClassJarOrMainIsAClearUsageError() {
        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.Nope", appJar.toString()))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--class demo.Nope is in none of", appJar.toString(), "jar tf");

        Path missing = dir.resolve("missing.jar");
        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.App", missing.toString()))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("the app jar " + missing + " does not exist");

        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--jars", missing.toString(), "--class", "demo.App",
                appJar.toString())).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--jars entry " + missing + " does not exist");

        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.NoMain", appJar.toString()))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("demo.NoMain has no public static void main(String[] args)");

        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.App")).isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("APP_JAR");

        assertThat(run("submit", "--zk", "http://x:1/q", "--class", "demo.App", appJar.toString()))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains("--zk");
    }

    @Test
    void aNotAJarIsNamed() throws IOException {
        Path text = Files.writeString(dir.resolve("not-a.jar"), "plain text");
        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.App", text.toString()))
                .isEqualTo(QuiverCli.EXIT_USAGE);
        assertThat(err.toString()).contains(text + " is not a jar");
    }

    @Test
    void anExceptionFromMainIsTheCommandsErrorAndThePropertiesAreRestored() {
        assertThat(run("submit", "--zk", cluster.zkConnectString(), "--class", "demo.Boom", appJar.toString()))
                .isEqualTo(QuiverCli.EXIT_ERROR);
        assertThat(err.toString()).contains("quiver submit: demo.Boom.main failed: the app's own failure");
        assertThat(System.getProperty("quiver.url")).isNull();
        assertThat(Thread.currentThread().getContextClassLoader()).isNotInstanceOf(java.net.URLClassLoader.class);
    }

    /** Compiles sources (path, text pairs) against Quiver's API and {@code classPath}, and packs them into a jar. */
    private static Path jar(String name, Object... pathsTextsAndClassPath) throws IOException, URISyntaxException {
        Path src = Files.createDirectories(dir.resolve(name + "-src"));
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        List<String> args = new ArrayList<>();
        List<Path> classPath = new ArrayList<>();
        classPath.add(Path.of(Quiver.class.getProtectionDomain().getCodeSource().getLocation().toURI()));
        for (int i = 0; i < pathsTextsAndClassPath.length; i++) {
            Object o = pathsTextsAndClassPath[i];
            if (o instanceof List<?> list) {
                list.forEach(p -> classPath.add((Path) p));
            } else {
                Path file = src.resolve((Path) o);
                Files.createDirectories(file.getParent());
                Files.writeString(file, (String) pathsTextsAndClassPath[++i]);
                args.add(file.toString());
            }
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> all = new ArrayList<>(List.of("-d", classes.toString(), "-cp",
                String.join(File.pathSeparator, classPath.stream().map(Path::toString).toList())));
        all.addAll(args);
        java.io.ByteArrayOutputStream errors = new java.io.ByteArrayOutputStream();
        int code = javac.run(null, null, errors, all.toArray(String[]::new));
        assertThat(code).as(errors.toString(StandardCharsets.UTF_8)).isZero();
        Path jar = dir.resolve(name + ".jar");
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file);
             Stream<Path> walk = Files.walk(classes)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(p).toString().replace(File.separatorChar, '/')));
                out.write(Files.readAllBytes(p));
                out.closeEntry();
            }
        }
        return jar;
    }
}
