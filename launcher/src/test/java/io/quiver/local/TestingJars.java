package io.quiver.local;

import io.quiver.core.code.ClassPath;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/** Builds small jars at test time: sources compiled with javax.tools against this JVM's class path. */
final class TestingJars {
    private TestingJars() {}

    /**
     * Compiles {@code sources} (fully qualified class name to source text) into {@code dir/<name>}.
     *
     * @throws IllegalStateException with the compiler's output if compiling fails
     */
    static Path compile(Path dir, String name, Map<String, String> sources) throws IOException {
        Path src = Files.createDirectories(dir.resolve(name + "-src"));
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        List<String> args = new ArrayList<>(List.of("--release", "17", "-d", classes.toString(), "-classpath",
                String.join(java.io.File.pathSeparator, ClassPath.application().stream().map(Path::toString).toList())));
        for (Map.Entry<String, String> e : sources.entrySet()) {
            Path file = src.resolve(e.getKey().replace('.', '/') + ".java");
            Files.createDirectories(file.getParent());
            Files.writeString(file, e.getValue());
            args.add(file.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter out = new StringWriter();
        int rc = javac.run(null, new OutputStreamAdapter(out), new OutputStreamAdapter(out), args.toArray(String[]::new));
        if (rc != 0) {
            throw new IllegalStateException("javac failed (" + rc + "): " + out);
        }
        Path jar = dir.resolve(name + ".jar");
        try (JarOutputStream j = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                j.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                j.write(Files.readAllBytes(f));
                j.closeEntry();
            }
        }
        return jar;
    }

    /** javac writes bytes; collect them as text. */
    private static final class OutputStreamAdapter extends OutputStream {
        private final StringWriter out;

        OutputStreamAdapter(StringWriter out) {
            this.out = out;
        }

        @Override
        public void write(int b) {
            out.write(b);
        }
    }

    /**
     * Source of {@code shipped.Answer}: a task (Fn0) that loads {@code shipped.Version} through the
     * thread's context class loader and returns what it says; both classes say {@code version}.
     */
    static Map<String, String> versioned(String version) {
        return Map.of(
                "shipped.Answer", """
                        package shipped;
                        public final class Answer implements io.quiver.Fn0<String> {
                            private static final long serialVersionUID = 1L;
                            public String apply() throws Exception {
                                Class<?> v = Class.forName("shipped.Version", true,
                                        Thread.currentThread().getContextClassLoader());
                                return v.getMethod("name").invoke(null) + " by " + getClass().getClassLoader().getName();
                            }
                        }
                        """,
                "shipped.Version", """
                        package shipped;
                        public final class Version {
                            public static String name() { return "%s"; }
                        }
                        """.formatted(version));
    }
}
