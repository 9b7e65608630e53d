package io.quiver.cli;

import io.quiver.ConnectOptions;
import io.quiver.core.client.Connector;
import io.quiver.core.net.Secret;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code quiver submit}: runs a user's {@code main} in this JVM as a client of a cluster, as
 * spark-submit runs a driver. {@code main} gets its arguments unchanged and finds the cluster through
 * {@code Quiver.connect()}: this command sets the system property {@value Connector#URL_PROPERTY}
 * (and {@value #JARS_PROPERTY}, the jars that {@code ConnectOptions.defaults()} ships, and with
 * {@code --tls-*} the {@code quiver.tls.*} properties that {@code ConnectOptions.tls()} reads). The app's
 * classes load in their own {@link URLClassLoader} over the app jar and {@code --jars}, the thread
 * context loader while {@code main} runs. The command returns when {@code main} returns.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Runs the main class of an application jar as a client of a cluster.",
                "Main gets its own arguments unchanged; Quiver.connect() (no argument) connects to --zk.",
                "Everything after the app jar is the application's, even what starts with '-'."})
final class SubmitCommand implements Callable<Integer> {
    /** The jars the client ships, path-separator separated (read by {@code ConnectOptions.defaults()}). */
    static final String JARS_PROPERTY = "quiver.jars";
    /** The secret file the client reads (see {@code ConnectOptions.secret()}). */
    static final String SECRET_FILE_PROPERTY = "quiver.secretFile";
    private static final Pattern CLASS_NAME = Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");

    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions config;

    @Mixin
    TlsOptions tlsOptions;

    @Option(names = "--zk", required = true, paramLabel = "URL",
            description = "The cluster: zk://host:port[,host:port...]/root (or local[N] for an embedded one).")
    String zk;

    @Option(names = "--jars", split = ",", paramLabel = "JAR",
            description = "More jars of the application, comma-separated; loaded with the app jar and shipped with it.")
    List<Path> jars = new ArrayList<>();

    @Option(names = "--secret-file", paramLabel = "FILE",
            description = "File holding the cluster secret. Default: the file named by $QUIVER_SECRET_FILE, else the "
                    + "contents of $QUIVER_SECRET, else none.")
    Path secretFile;

    @Option(names = "--class", required = true, paramLabel = "MAIN",
            description = "The class whose public static void main(String[]) runs, e.g. com.example.App.")
    String mainClass;

    @Parameters(index = "0", paramLabel = "APP_JAR", description = "The application's jar.")
    Path appJar;

    @Parameters(index = "1..*", paramLabel = "ARGS", description = "Arguments of main, passed unchanged.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        checkUrl();
        if (!CLASS_NAME.matcher(mainClass).matches()) {
            throw Options.invalid(spec, "--class", "--class '" + mainClass + "' is not a class name; give the binary "
                    + "name of the main class, e.g. --class com.example.App");
        }
        List<Path> classPath = new ArrayList<>();
        classPath.add(checkJar(appJar, "the app jar"));
        for (Path jar : jars) {
            classPath.add(checkJar(jar, "--jars entry"));
        }
        if (secretFile != null) {
            Secret.read(secretFile, "--secret-file"); // fail now, with the file's name, rather than inside main
        }
        tlsOptions.tls(spec); // likewise: a bad TLS file is a usage error naming it
        URL[] urls = new URL[classPath.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = classPath.get(i).toUri().toURL();
        }
        Map<String, String> properties = new LinkedHashMap<>();
        properties.put(Connector.URL_PROPERTY, zk.trim());
        properties.put(JARS_PROPERTY, classPath.stream().map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
        if (secretFile != null) {
            properties.put(SECRET_FILE_PROPERTY, secretFile.toAbsolutePath().toString());
        }
        if (tlsOptions.isSet()) {
            properties.put(ConnectOptions.TLS_CERT_PROPERTY, tlsOptions.cert.toAbsolutePath().toString());
            properties.put(ConnectOptions.TLS_KEY_PROPERTY, tlsOptions.key.toAbsolutePath().toString());
            properties.put(ConnectOptions.TLS_TRUST_PROPERTY, tlsOptions.trust.toAbsolutePath().toString());
        }
        try (URLClassLoader loader = new URLClassLoader("quiver-app", urls, SubmitCommand.class.getClassLoader())) {
            Method main = mainMethod(loader, classPath);
            runMain(main, loader, properties);
        }
        return 0;
    }

    private void checkUrl() {
        if (!zk.trim().matches("local\\[\\d+]")) {
            Options.clusterUrl(spec, zk);
        }
    }

    private Path checkJar(Path jar, String what) {
        String option = what.startsWith("--jars") ? "--jars" : null;
        Path absolute = jar.toAbsolutePath().normalize();
        if (!Files.isRegularFile(absolute)) {
            String message = what + " " + jar + " does not exist" + (Files.isDirectory(absolute) ? " as a file (it is a "
                    + "directory; pack it into a jar)" : "") + "; give the path of a built jar, e.g. target/my-app.jar";
            throw option != null ? Options.invalid(spec, option, message) : new picocli.CommandLine.ParameterException(
                    spec.commandLine(), message);
        }
        try (ZipFile zip = new ZipFile(absolute.toFile())) {
            zip.size();
        } catch (IOException e) {
            String message = what + " " + jar + " is not a jar (" + e.getMessage() + "); give a jar built by e.g. mvn package";
            throw option != null ? Options.invalid(spec, option, message) : new picocli.CommandLine.ParameterException(
                    spec.commandLine(), message);
        }
        return absolute;
    }

    private Method mainMethod(ClassLoader loader, List<Path> classPath) {
        Class<?> cls;
        try {
            cls = Class.forName(mainClass, false, loader);
        } catch (ClassNotFoundException e) {
            throw Options.invalid(spec, "--class", "--class " + mainClass + " is in none of " + classPath
                    + "; check the name (package included) and that the jar holds it (jar tf " + appJar + ")");
        } catch (LinkageError e) {
            throw Options.invalid(spec, "--class", "--class " + mainClass + " cannot be loaded: " + e
                    + "; add the jars it needs with --jars");
        }
        try {
            Method main = cls.getMethod("main", String[].class);
            if (Modifier.isStatic(main.getModifiers()) && main.getReturnType() == void.class) {
                return main;
            }
        } catch (NoSuchMethodException e) {
            // said below
        }
        throw Options.invalid(spec, "--class", "--class " + mainClass + " has no public static void main(String[] args);"
                + " name the class that has it");
    }

    /** Runs main with the properties set and the app's loader as context loader; restores both after. */
    private void runMain(Method main, ClassLoader loader, Map<String, String> properties) throws Exception {
        Map<String, String> before = new LinkedHashMap<>();
        properties.keySet().forEach(key -> before.put(key, System.getProperty(key)));
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        properties.forEach(System::setProperty);
        thread.setContextClassLoader(loader);
        try {
            main.invoke(null, (Object) args.toArray(String[]::new));
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new AppFailedException(mainClass + ".main failed: " + QuiverCli.describe(cause), cause);
        } finally {
            thread.setContextClassLoader(previous);
            before.forEach((key, value) -> {
                if (value == null) {
                    System.clearProperty(key);
                } else {
                    System.setProperty(key, value);
                }
            });
        }
    }

    /** The application's own main threw; the command reports it as its error. */
    static final class AppFailedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        AppFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
