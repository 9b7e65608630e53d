package io.quiver.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.KV;
import io.quiver.NotSerializableException;
import io.quiver.QuiverException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Errors of Java serialization must name the offending class, the path to it, and the fix. */
class JavaSerializationTest {
    private static final ClassLoader LOADER = JavaSerializationTest.class.getClassLoader();

    /** A resource users tend to capture by accident; deliberately not Serializable. */
    static final class DatabaseConnection {
        final String url;

        DatabaseConnection(String url) {
            this.url = url;
        }
    }

    static final class Settings implements Serializable {
        final int retries = 3;
        final DatabaseConnection connection;

        Settings(DatabaseConnection connection) {
            this.connection = connection;
        }
    }

    static final class Job implements Serializable {
        final String name;
        final Settings settings;

        Job(String name, Settings settings) {
            this.name = name;
            this.settings = settings;
        }
    }

    record Payload(String name, int[] values) implements Serializable {}

    @Test
    void lambdaCapturingAThreadNamesTheThreadAndTheCapturedArg() {
        Thread worker = new Thread(() -> {}, "worker");
        String suffix = "!";
        Fn0<String> fn = () -> worker.getName() + suffix;

        assertThatThrownBy(() -> JavaSerialization.serialize(fn, "the function of submit"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageStartingWith("the function of submit: ")
                .hasMessageContaining("class java.lang.Thread is not Serializable")
                .hasMessageContaining("the lambda -> captured arg 0 (java.lang.Thread)")
                .hasMessageContaining("mark the field transient")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo("java.lang.Thread");
    }

    @Test
    void lambdaCapturingALocalClassNamesThatClassAndItsCapturedArg() {
        class Counter {
            int count;
        }
        Counter counter = new Counter();
        String prefix = "n=";
        Fn1<Integer, String> fn = x -> prefix + (x + counter.count);

        assertThatThrownBy(() -> JavaSerialization.serialize(fn, "the function of map"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining(Counter.class.getName())
                .hasMessageContaining("captured arg")
                .hasMessageContaining("(" + Counter.class.getName() + ")")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo(Counter.class.getName());
    }

    @Test
    void lambdaCapturingAnObjectWithANonSerializableFieldNamesTheWholePath() {
        Job job = new Job("nightly", new Settings(new DatabaseConnection("jdbc:h2:mem:")));
        Fn0<String> fn = () -> job.name;

        assertThatThrownBy(() -> JavaSerialization.serialize(fn, "the function of submit"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("captured arg 0 (" + Job.class.getName() + ")"
                        + " -> field Job.settings -> field Settings.connection")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo(DatabaseConnection.class.getName());
    }

    @Test
    void serializableObjectWithANonSerializableFieldNamesTheField() {
        Settings settings = new Settings(new DatabaseConnection("jdbc:h2:mem:"));

        assertThatThrownBy(() -> JavaSerialization.serialize(settings, "the value of scatter"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("the value of scatter")
                .hasMessageContaining("class " + DatabaseConnection.class.getName() + " is not Serializable")
                .hasMessageContaining("field Settings.connection")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo(DatabaseConnection.class.getName());
    }

    @Test
    void nonSerializableElementOfACollectionIsFound() {
        List<Object> values = new ArrayList<>(List.of("a", "b"));
        values.add(Map.of("conn", new DatabaseConnection("x")));

        assertThatThrownBy(() -> JavaSerialization.serialize(values, "the value"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("element -> value of conn");
    }

    @Test
    void nonSerializableRootValueIsNamed() {
        assertThatThrownBy(() -> JavaSerialization.serialize(new DatabaseConnection("x"), "the value"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("class " + DatabaseConnection.class.getName() + " is not Serializable")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo(DatabaseConnection.class.getName());
    }

    @Test
    void lambdaThatIsNotSerializableItselfIsReported() {
        Runnable notSerializable = () -> {};
        Fn0<Integer> fn = () -> notSerializable.hashCode();

        assertThatThrownBy(() -> JavaSerialization.serialize(fn, "the function"))
                .isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("captured arg 0")
                .asInstanceOf(type(NotSerializableException.class))
                .extracting(NotSerializableException::offendingClass)
                .isEqualTo(notSerializable.getClass().getName());
    }

    @Test
    void serializableLambdaRoundTripsAndStillWorks() throws Exception {
        int base = 40;
        Fn1<Integer, Integer> add = x -> x + base;

        @SuppressWarnings("unchecked")
        Fn1<Integer, Integer> copy = (Fn1<Integer, Integer>)
                JavaSerialization.deserialize(JavaSerialization.serialize(add, "the function"), LOADER);

        assertThat(copy.apply(2)).isEqualTo(42);
    }

    @Test
    void valuesRoundTripWithTheGivenLoader() {
        Payload payload = new Payload("p", new int[] {1, 2, 3});
        List<KV<String, Long>> pairs = List.of(KV.of("a", 1L), KV.of("b", null));

        Payload payloadCopy = (Payload) JavaSerialization.deserialize(JavaSerialization.serialize(payload, "v"), LOADER);
        Object pairsCopy = JavaSerialization.deserialize(JavaSerialization.serialize(pairs, "v"), LOADER);

        assertThat(payloadCopy.name()).isEqualTo("p");
        assertThat(payloadCopy.values()).containsExactly(1, 2, 3);
        assertThat(pairsCopy).isEqualTo(pairs);
    }

    @Test
    void classTheLoaderCannotSeeRaisesMissingClassExceptionNamingIt() throws IOException {
        byte[] bytes = JavaSerialization.serialize(new Payload("p", new int[] {1}), "the value");

        try (URLClassLoader platformOnly = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            assertThatThrownBy(() -> JavaSerialization.deserialize(bytes, platformOnly))
                    .isInstanceOf(JavaSerialization.MissingClassException.class)
                    .hasMessageContaining("class " + Payload.class.getName() + " is not on this process's class path")
                    .hasMessageContaining("--classpath")
                    .asInstanceOf(type(JavaSerialization.MissingClassException.class))
                    .extracting(JavaSerialization.MissingClassException::className)
                    .isEqualTo(Payload.class.getName());
        }
    }

    @Test
    void classDefinedOnlyInAnotherLoaderIsMissingElsewhere() throws Exception {
        // A copy of Payload defined by a loader of its own: the application loader cannot see it.
        try (ChildFirstLoader isolated = new ChildFirstLoader(Payload.class)) {
            Class<?> isolatedPayload = isolated.loadClass(Payload.class.getName());
            assertThat(isolatedPayload).isNotSameAs(Payload.class);
            var constructor = isolatedPayload.getDeclaredConstructor(String.class, int[].class);
            constructor.setAccessible(true);
            Object value = constructor.newInstance("q", new int[] {5});
            byte[] bytes = JavaSerialization.serialize(value, "the value");

            Object copy = JavaSerialization.deserialize(bytes, isolated);
            assertThat(copy.getClass()).as("resolved through the given loader").isSameAs(isolatedPayload);

            Object appCopy = JavaSerialization.deserialize(bytes, LOADER);
            assertThat(appCopy.getClass()).as("resolved through the application loader").isSameAs(Payload.class);
        }
    }

    @Test
    void jdkTypesAndPrimitiveClassesResolveThroughALoaderThatSeesOnlyTheJdk() throws IOException {
        Object value = List.of(int.class, long[].class, new double[][] {{1.0}}, Map.of("k", 1), String.class);
        byte[] bytes = JavaSerialization.serialize(value, "the value");

        try (URLClassLoader platformOnly = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader())) {
            assertThat(JavaSerialization.deserialize(bytes, platformOnly)).usingRecursiveComparison().isEqualTo(value);
        }
    }

    @Test
    void corruptBytesRaiseQuiverException() {
        byte[] bytes = JavaSerialization.serialize(new ArrayList<>(List.of("a", "b", "c")), "v");

        assertThatThrownBy(() -> JavaSerialization.deserialize(Arrays.copyOf(bytes, bytes.length - 3), LOADER))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining("corrupt serialized object");
        assertThatThrownBy(() -> JavaSerialization.deserialize(new byte[] {1, 2, 3}, LOADER))
                .isInstanceOf(QuiverException.class)
                .hasMessageContaining("corrupt serialized object");
    }

    @Test
    void writeToProducesWhatDeserializeReads() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JavaSerialization.writeTo(Map.of("x", 1.5), out);

        assertThat(JavaSerialization.deserialize(out.toByteArray(), LOADER)).isEqualTo(Map.of("x", 1.5));
    }

    /** Defines its own copy of the given classes from their class files; delegates everything else. */
    private static final class ChildFirstLoader extends URLClassLoader {
        private final List<String> isolated;

        ChildFirstLoader(Class<?>... classes) {
            super(new URL[0], JavaSerializationTest.class.getClassLoader());
            this.isolated = Arrays.stream(classes).map(Class::getName).toList();
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            synchronized (getClassLoadingLock(name)) {
                if (!isolated.contains(name)) {
                    return super.loadClass(name, resolve);
                }
                Class<?> loaded = findLoadedClass(name);
                if (loaded == null) {
                    String resource = name.replace('.', '/') + ".class";
                    try (var in = getParent().getResourceAsStream(resource)) {
                        if (in == null) {
                            throw new ClassNotFoundException(name);
                        }
                        byte[] code = in.readAllBytes();
                        loaded = defineClass(name, code, 0, code.length);
                    } catch (IOException e) {
                        throw new ClassNotFoundException(name, e);
                    }
                }
                return loaded;
            }
        }
    }
}
