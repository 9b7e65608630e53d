package io.quiver.core.codec;

import io.quiver.NotSerializableException;
import io.quiver.QuiverException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.OutputStream;
import java.util.Map;

/**
 * Java serialization for functions and for values without a fast path. Failures become Quiver's
 * exceptions with the offending class and the path to it ({@link SerializationDiagnosis}).
 */
public final class JavaSerialization {
    private JavaSerialization() {}

    /** Serializes a function or value; {@code what} names it in errors ("the function of submit"). */
    public static byte[] serialize(Object value, String what) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try {
            writeTo(value, bytes);
        } catch (NotSerializableException e) {
            throw new NotSerializableException(what + ": " + e.getMessage(), e.offendingClass(), e.getCause());
        } catch (IOException e) {
            throw new QuiverException("could not serialize " + what + ": " + e, e);
        }
        return bytes.toByteArray();
    }

    /** Writes {@code value} to {@code out}; a non-serializable part raises NotSerializableException. */
    public static void writeTo(Object value, OutputStream out) throws IOException {
        try (ObjectOutputStream oos = new ObjectOutputStream(out)) {
            oos.writeObject(value);
        } catch (java.io.NotSerializableException e) {
            String offending = e.getMessage();
            throw new NotSerializableException(SerializationDiagnosis.explain(value, offending), offending, e);
        } catch (InvalidClassException e) {
            throw new NotSerializableException("class " + e.classname + " cannot be serialized: " + e.getMessage()
                    + "; make it Serializable or do not capture it", e.classname, e);
        } catch (QuiverException e) {
            throw e;
        } catch (RuntimeException e) {
            // A user's writeObject (or writeReplace, writeExternal) threw: say whose, and what to do.
            String thrower = userWriter(e, value);
            throw new NotSerializableException("a " + value.getClass().getName() + " cannot be serialized: "
                    + "the writeObject/writeReplace/writeExternal of " + thrower + " threw " + e
                    + "; fix that method, or do not pass or capture the value", thrower, e);
        }
    }

    /** The class whose serialization hook threw {@code e}, from its stack; the value's class if none shows. */
    private static String userWriter(Throwable e, Object value) {
        for (StackTraceElement f : e.getStackTrace()) {
            String m = f.getMethodName();
            if ((m.equals("writeObject") || m.equals("writeReplace") || m.equals("writeExternal"))
                    && !f.getClassName().startsWith("java.")) {
                return f.getClassName();
            }
        }
        return value.getClass().getName();
    }

    /**
     * Reads one object from {@code bytes}, resolving classes through {@code loader} only.
     *
     * @throws MissingClassException if {@code loader} cannot load a class named in the bytes
     * @throws QuiverException if the bytes are corrupt
     */
    public static Object deserialize(byte[] bytes, ClassLoader loader) {
        try {
            return readFrom(new ByteArrayInputStream(bytes), loader, bytes.length);
        } catch (IOException e) {
            throw new QuiverException("corrupt serialized object: " + e, e);
        }
    }

    /**
     * Reads one object of unknown length; prefer {@link #readFrom(InputStream, ClassLoader, long)},
     * which can reject the huge array lengths a corrupt stream may claim.
     */
    public static Object readFrom(InputStream in, ClassLoader loader) throws IOException {
        return readFrom(in, loader, Long.MAX_VALUE);
    }

    /**
     * Reads one object from a stream that holds at most {@code maxBytes} bytes, resolving classes
     * through {@code loader} only (the system class loader if {@code loader} is null). A class that
     * cannot be loaded raises a {@link MissingClassException} naming it and how to make it
     * available. An array, list or map longer than {@code maxBytes} elements cannot be in the stream
     * (each element takes at least one byte), so a corrupt length is rejected before it is allocated
     * rather than ending in an OutOfMemoryError.
     *
     * @throws IOException if the stream is corrupt or fails
     * @throws QuiverException if an object's own {@code readObject} fails
     */
    public static Object readFrom(InputStream in, ClassLoader loader, long maxBytes) throws IOException {
        LoaderObjectInputStream stream = null;
        try (LoaderObjectInputStream ois = new LoaderObjectInputStream(in, loader)) {
            stream = ois;
            ObjectInputFilter bound = info -> info.arrayLength() > maxBytes || info.arrayLength() < -1
                    ? ObjectInputFilter.Status.REJECTED
                    : ObjectInputFilter.Status.UNDECIDED;
            ObjectInputFilter processWide = ois.getObjectInputFilter();
            ois.setObjectInputFilter(processWide == null ? bound : ObjectInputFilter.merge(bound, processWide));
            return ois.readObject();
        } catch (ClassNotFoundException e) {
            throw new MissingClassException(e.getMessage(), e);
        } catch (QuiverException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // A class that could not be loaded may surface later as another error: a lambda whose
            // capturing class is missing stays a SerializedLambda, and its assignment fails with
            // "Cannot cast SerializedLambda to ...". The missing class is the cause: name it.
            String missing = stream == null ? null : stream.firstMissing;
            if (missing != null) {
                throw new MissingClassException(missing, e);
            }
            if (e instanceof IOException io) {
                throw io;
            }
            // Corrupt input surfaces as NegativeArraySizeException, ClassCastException, ... from
            // ObjectInputStream or from a class's readObject.
            throw new QuiverException("could not deserialize a value, the bytes are corrupt or a readObject"
                    + " method failed: " + e, e);
        }
    }

    /** A class named in serialized data is not on this JVM's class path. */
    public static final class MissingClassException extends QuiverException {
        private final String className;

        public MissingClassException(String className, Throwable cause) {
            super("class " + className + " is not on this process's class path; start executors with"
                    + " --classpath <your jars> (LocalCluster executors share the client's class path)", cause);
            this.className = className;
        }

        public String className() {
            return className;
        }
    }

    /**
     * Resolves classes through the given loader only. Falling back to ObjectInputStream's default
     * (the latest user-defined loader on the stack, Quiver's own) would load a class the job's loader
     * cannot see, or a different copy of it.
     */
    private static final class LoaderObjectInputStream extends ObjectInputStream {
        private static final Map<String, Class<?>> PRIMITIVES = Map.of(
                "boolean", boolean.class, "byte", byte.class, "char", char.class, "short", short.class,
                "int", int.class, "long", long.class, "float", float.class, "double", double.class,
                "void", void.class);

        private final ClassLoader loader;
        /** The first class that could not be loaded, if any. */
        String firstMissing;

        LoaderObjectInputStream(InputStream in, ClassLoader loader) throws IOException {
            super(in);
            this.loader = loader;
        }

        @Override
        protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
            try {
                if (loader == null) {
                    return super.resolveClass(desc);
                }
                Class<?> primitive = PRIMITIVES.get(desc.getName());
                return primitive != null ? primitive : Class.forName(desc.getName(), false, loader);
            } catch (ClassNotFoundException | NoClassDefFoundError e) {
                if (firstMissing == null) {
                    firstMissing = e instanceof NoClassDefFoundError && e.getMessage() != null
                            ? e.getMessage().replace('/', '.') : desc.getName();
                }
                throw e;
            }
        }
    }

    /**
     * The {@link java.lang.invoke.SerializedLambda} a serializable lambda writes in its place (what
     * it calls and captures), or null for anything else.
     */
    public static java.lang.invoke.SerializedLambda serializedLambda(Object value) {
        if (!(value instanceof java.io.Serializable) || !value.getClass().isSynthetic()) {
            return null;
        }
        try {
            java.lang.reflect.Method m = value.getClass().getDeclaredMethod("writeReplace");
            m.setAccessible(true);
            return m.invoke(value) instanceof java.lang.invoke.SerializedLambda s ? s : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // not a lambda we can read
        }
    }
}
