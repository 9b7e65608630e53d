package io.quiver.core.codec;

import com.google.common.cache.CacheBuilder;
import com.google.common.cache.CacheLoader;
import com.google.common.cache.LoadingCache;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.quiver.QuiverException;
import java.io.Externalizable;
import java.io.OutputStream;
import java.io.Serializable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.zip.CRC32C;
import org.apache.fory.Fory;
import org.apache.fory.config.Language;
import org.apache.fory.logging.LogLevel;
import org.apache.fory.logging.LoggerFactory;
import org.apache.fory.memory.MemoryBuffer;
import org.apache.fory.serializer.Serializer;
import org.apache.fory.serializer.SerializerFactory;
import org.apache.fory.serializer.collection.CollectionSerializer;

/**
 * {@link DefaultCodec}'s FORY form: Apache Fory, held to Java serialization's rules. Thread-safe:
 * one writing {@link Fory} per thread, and one reading Fory per thread and class loader, each
 * built on first use.
 *
 * <p>Wire form after the tag: payload length (int), CRC32C of the payload (int), the payload.
 * Fory 0.13 trusts the lengths inside its bytes (it allocates what a length claims before checking
 * that the bytes are there, and can read past the end of a primitive array), so only bytes whose
 * length and checksum match ever reach it: corruption in transit or on disk fails the check.
 *
 * <p>What Fory would encode differently from Java serialization, or could not read back on every
 * executor, it declines, and the caller falls back to Java serialization: classes that are not
 * Serializable (Java then reports them with its diagnosis), user classes that are not public or
 * have fields of non-public user types (Fory 0.13's generated serializers load those through
 * Fory's own class loader), inner, local and anonymous classes, user subclasses of collections and
 * maps, and classes with a non-Serializable superclass other than Object (whose fields Java does
 * not carry).
 *
 * <p>Reference tracking is on, so shared and cyclic objects keep their identity; class registration is
 * off; a class-version hash per object makes a class that differs between writer and reader fail
 * loudly, as serialVersionUID does.
 */
final class ForyValues {
    /** Tag, payload length, CRC32C. */
    static final int HEADER = 9;

    static {
        // Fory logs a WARN whenever an instance is built without class registration, and INFO for each
        // class it compiles, on stdout by default: keep only its errors. (This is Fory-wide.)
        LoggerFactory.setLogLevel(LogLevel.ERROR_LEVEL);
    }

    private static final ClassLoader OWN_LOADER = ForyValues.class.getClassLoader();
    private static final ForyValues OWN = new ForyValues(OWN_LOADER);

    /**
     * A Fory holds its loader and the classes it has seen; weak keys and soft values let a job's
     * loader be collected once nothing else uses it.
     */
    private static final LoadingCache<ClassLoader, ForyValues> BY_LOADER =
            CacheBuilder.newBuilder().weakKeys().softValues().build(CacheLoader.from(ForyValues::new));

    /** JDK classes that Fory has serializers for although Java serialization rejects them. */
    private static final List<Class<?>> NOT_SERIALIZABLE_BUILT_INS = List.of(
            Object.class,
            Optional.class,
            OptionalInt.class,
            OptionalLong.class,
            OptionalDouble.class,
            ByteBuffer.allocate(0).getClass(),
            ByteBuffer.allocateDirect(0).getClass(),
            new ArrayList<>().subList(0, 0).getClass(),
            new LinkedList<>().subList(0, 0).getClass(),
            Arrays.asList(1).subList(0, 0).getClass(),
            List.of(1, 2, 3).subList(0, 1).getClass());

    /**
     * Writers are apart from readers: a Fory that wrote a class answers later reads of that class's
     * name with it, even if the reader's loader has a different class of that name.
     */
    private static final ThreadLocal<Fory> WRITER = ThreadLocal.withInitial(() -> newFory(OWN_LOADER));

    private final ClassLoader loader;
    private final ThreadLocal<Fory> reader;
    /**
     * For a loader other than Quiver's own (a client's, on an executor): Fory instances borrowed from
     * pools instead of thread locals, since a worker thread's thread-local map would keep a dropped
     * client's Fory, and so its loader, alive. Writers apart from readers, as above. (Fory's own
     * JVM-wide caches hold classes softly, so such a loader may outlive its client until the heap
     * runs short.)
     */
    private final java.util.concurrent.ConcurrentLinkedQueue<Fory> readers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.ConcurrentLinkedQueue<Fory> writers = new java.util.concurrent.ConcurrentLinkedQueue<>();

    private ForyValues(ClassLoader loader) {
        this.loader = loader;
        this.reader = loader == OWN_LOADER ? ThreadLocal.withInitial(() -> newFory(loader)) : null;
    }

    /** Drops the Fory instances of {@code loader} (a client's loader that is being closed). */
    static void forget(ClassLoader loader) {
        if (loader != null && loader != OWN_LOADER) {
            BY_LOADER.invalidate(loader);
        }
    }

    /** Encodes with a writer of {@code loader}'s (so that the classes it sees stay with that loader). */
    static ByteBuf encode(Object value, ByteBufAllocator alloc, ClassLoader loader) {
        ForyValues v = forLoader(loader);
        if (v == OWN) {
            return encode(value, alloc);
        }
        Fory f = v.writers.poll();
        if (f == null) {
            f = newFory(OWN_LOADER);
        }
        try {
            return encodeWith(f, value, alloc);
        } finally {
            v.writers.offer(f);
        }
    }

    /** The reading side for {@code loader}; null means the loader that loaded Quiver. */
    static ForyValues forLoader(ClassLoader loader) {
        return loader == null || loader == OWN_LOADER ? OWN : BY_LOADER.getUnchecked(loader);
    }

    /** JDK classes that Fory has serializers for and that ForyValues therefore rejects itself. */
    static List<Class<?>> notSerializableBuiltIns() {
        return NOT_SERIALIZABLE_BUILT_INS;
    }

    /**
     * Encodes {@code value} (Serializable) as a FORY value into a new heap buffer the caller owns.
     *
     * @throws RuntimeException (often a Fory exception caused by {@link Declined}) or an Error if Fory
     *     cannot encode it the way Java serialization would; nothing is left allocated then
     */
    static ByteBuf encode(Object value, ByteBufAllocator alloc) {
        return encodeWith(WRITER.get(), value, alloc);
    }

    private static ByteBuf encodeWith(Fory writer, Object value, ByteBufAllocator alloc) {
        Sink sink = new Sink(alloc);
        try {
            writer.serialize(sink, value);
            if (sink.buf == null) {
                throw new IllegalStateException("Fory wrote nothing for a " + value.getClass().getName());
            }
        } catch (Throwable t) {
            sink.release();
            throw t;
        }
        ByteBuf buf = sink.buf;
        return buf.setInt(1, buf.readableBytes() - HEADER).setInt(5, (int) sink.crc.getValue());
    }

    /**
     * Decodes the FORY value that follows the tag in {@code in} and consumes it.
     *
     * @throws JavaSerialization.MissingClassException if this loader cannot load a class named in it
     * @throws QuiverException ("corrupt value: ...") if the bytes fail the length or checksum check, or
     *     Fory cannot read them
     */
    Object decode(ByteBuf in) {
        if (in.readableBytes() < HEADER - 1) {
            throw new QuiverException("corrupt value: truncated FORY header, needed " + (HEADER - 1)
                    + " bytes but only " + in.readableBytes() + " follow");
        }
        int length = in.readInt();
        int expectedCrc = in.readInt();
        if (length < 0 || length > in.readableBytes()) {
            throw new QuiverException("corrupt value: FORY value of " + length + " bytes but only "
                    + in.readableBytes() + " bytes follow");
        }
        int start = in.readerIndex();
        int crc = crc32c(in, start, length);
        if (crc != expectedCrc) {
            throw new QuiverException(String.format("corrupt value: checksum mismatch in a FORY value of %d bytes"
                    + " (CRC32C %08x, expected %08x); the bytes were damaged in transit or storage",
                    length, crc, expectedCrc));
        }
        MemoryBuffer memory = memoryBuffer(in, start, length);
        Object value;
        // Fory falls back to the context loader for a class its own loader lacks: make that this loader
        // too, so that a missing class is reported instead of taken from another loader.
        Thread thread = Thread.currentThread();
        ClassLoader context = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        Fory f = reader != null ? reader.get() : readers.poll();
        if (f == null) {
            f = newFory(loader);
        }
        try {
            value = f.deserialize(memory);
        } catch (Throwable e) { // Fory wraps what its serializers throw, Errors included
            throw decodeFailure(e, length);
        } finally {
            thread.setContextClassLoader(context);
            if (reader == null) {
                readers.offer(f);
            }
        }
        if (memory.readerIndex() != length) {
            throw new QuiverException("corrupt value: a FORY value of " + length + " bytes ended after "
                    + memory.readerIndex() + " bytes");
        }
        in.skipBytes(length);
        return value;
    }

    private static Fory newFory(ClassLoader loader) {
        Fory f = Fory.builder()
                .withLanguage(Language.JAVA)
                .withClassLoader(loader)
                .requireClassRegistration(false)
                .suppressClassRegistrationWarnings(true)
                .withRefTracking(true)
                .withClassVersionCheck(true)
                .withDeserializeNonexistentClass(false)
                // Fory checks depth only when reading (default 50): a value it wrote must be readable.
                .withMaxDepth(Integer.MAX_VALUE)
                .build();
        f.setSerializerFactory(JavaRules.INSTANCE);
        for (Class<?> c : NOT_SERIALIZABLE_BUILT_INS) {
            // Fory insists that a collection's serializer be a CollectionSerializer.
            f.registerSerializer(c, Collection.class.isAssignableFrom(c) ? new RejectingCollection(f, c) : new Rejecting(f, c));
        }
        return f;
    }

    private static RuntimeException decodeFailure(Throwable e, int length) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof OutOfMemoryError) {
                // The bytes passed the checksum: crafted, or a value too large for this heap.
                return new QuiverException("corrupt value (or too large for this JVM's heap): decoding a FORY value of "
                        + length + " bytes ran out of memory: " + t.getMessage(), e);
            } else if (t instanceof StackOverflowError) {
                return new QuiverException("could not decode a FORY value of " + length + " bytes: it is nested too"
                        + " deeply for this thread's stack; give executors a larger -Xss", e);
            }
        }
        if (e instanceof VirtualMachineError vm) {
            throw vm;
        }
        String missing = missingClass(e);
        if (missing != null) {
            return new JavaSerialization.MissingClassException(missing, e);
        }
        return new QuiverException("corrupt value: could not decode a FORY value of " + length + " bytes (corrupt"
                + " bytes, a class that differs from the writer's, or a failing readObject/readResolve): "
                + rootMessage(e), e);
    }

    private static int crc32c(ByteBuf in, int index, int length) {
        CRC32C crc = new CRC32C();
        if (in.hasArray()) {
            crc.update(in.array(), in.arrayOffset() + index, length);
        } else {
            for (ByteBuffer b : in.nioBuffers(index, length)) {
                crc.update(b);
            }
        }
        return (int) crc.getValue();
    }

    /** A view of the payload without a copy where the buffer allows it. */
    private static MemoryBuffer memoryBuffer(ByteBuf in, int index, int length) {
        if (in.hasArray()) {
            return MemoryBuffer.fromByteArray(in.array(), in.arrayOffset() + index, length);
        } else if (in.nioBufferCount() == 1 && in.isDirect()) {
            return MemoryBuffer.fromByteBuffer(in.nioBuffer(index, length));
        }
        byte[] copy = new byte[length];
        in.getBytes(index, copy);
        return MemoryBuffer.fromByteArray(copy);
    }

    private static String missingClass(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClassNotFoundException && t.getMessage() != null) {
                return t.getMessage();
            } else if (t instanceof NoClassDefFoundError && t.getMessage() != null && !t.getMessage().contains(" ")) {
                return t.getMessage().replace('/', '.'); // not "Could not initialize class ..."
            }
        }
        return null;
    }

    /** Why Fory did not encode a value, for a debug log. */
    static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof Declined) {
                return t.getMessage();
            }
        }
        return rootMessage(e);
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = String.valueOf(root);
        return message.length() > 500 ? message.substring(0, 500) + "..." : message;
    }

    /** Fory declined a value so that Java serialization encodes (or rejects) it instead. */
    static final class Declined extends RuntimeException {
        Declined(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Asked for every class Fory has no serializer for yet, before Fory picks one: declines what
     * Java serialization would reject or encode differently, and what Fory could not read back
     * everywhere, else lets Fory choose (null). The decision depends on the class alone, so a reader
     * never meets FORY data it would decline.
     */
    private enum JavaRules implements SerializerFactory {
        INSTANCE;

        /** Why a class must not take Fory, or "" if it may. */
        private static final ClassValue<String> DECLINED = new ClassValue<>() {
            @Override
            protected String computeValue(Class<?> type) {
                return declineReason(type);
            }
        };

        @Override
        public Serializer createSerializer(Fory fory, Class<?> type) {
            String reason = DECLINED.get(type);
            if (!reason.isEmpty()) {
                throw new Declined("class " + type.getName() + reason);
            }
            return null;
        }

        private static String declineReason(Class<?> type) {
            if (type.isArray() || Enum.class.isAssignableFrom(type)) {
                return ""; // arrays are Serializable (their elements are checked); enum constant bodies are their enum's
            } else if (!Serializable.class.isAssignableFrom(type)) {
                return " is not Serializable";
            } else if (!isUserClass(type)) {
                return "";
            } else if (type.getEnclosingClass() != null && !Modifier.isStatic(type.getModifiers())) {
                // Fory's field-by-field fallback for these also prints their field names to stdout in 0.13.
                return " is an inner, local or anonymous class";
            } else if (!isPublic(type)) {
                // Fory's generated serializer loads a non-public class through Fory's own class loader,
                // which cannot see classes that only an executor's --classpath loader has.
                return " is not public";
            } else if (Collection.class.isAssignableFrom(type) || Map.class.isAssignableFrom(type)) {
                return " is a user collection or map";
            }
            for (Class<?> c = type; c != null && c != Object.class && c != Record.class; c = c.getSuperclass()) {
                if (c != type && !Externalizable.class.isAssignableFrom(type) && !Serializable.class.isAssignableFrom(c)) {
                    return " extends " + c.getName() + ", which is not Serializable";
                }
                for (Field f : c.getDeclaredFields()) {
                    int m = f.getModifiers();
                    if (!Modifier.isStatic(m) && !Modifier.isTransient(m) && !onlyPublicUserTypes(f.getGenericType())) {
                        return " has field " + f.getName() + " of a type that is not public";
                    }
                }
            }
            return "";
        }

        private static boolean onlyPublicUserTypes(Type type) {
            if (type instanceof Class<?> c) {
                while (c.isArray()) {
                    c = c.getComponentType();
                }
                return c.isPrimitive() || !isUserClass(c) || isPublic(c);
            } else if (type instanceof ParameterizedType p) {
                return onlyPublicUserTypes(p.getRawType())
                        && Arrays.stream(p.getActualTypeArguments()).allMatch(JavaRules::onlyPublicUserTypes);
            } else if (type instanceof GenericArrayType a) {
                return onlyPublicUserTypes(a.getGenericComponentType());
            } else if (type instanceof WildcardType w) {
                return Arrays.stream(w.getUpperBounds()).allMatch(JavaRules::onlyPublicUserTypes)
                        && Arrays.stream(w.getLowerBounds()).allMatch(JavaRules::onlyPublicUserTypes);
            }
            return true; // a type variable: its values' classes are checked when they are written
        }

        private static boolean isPublic(Class<?> type) {
            for (Class<?> c = type; c != null; c = c.getEnclosingClass()) {
                if (!Modifier.isPublic(c.getModifiers())) {
                    return false;
                }
            }
            return true;
        }

        private static boolean isUserClass(Class<?> type) {
            ClassLoader l = type.getClassLoader();
            return l != null && l != ClassLoader.getPlatformClassLoader();
        }
    }

    /** Stands in for Fory's serializer of a JDK class that Java serialization rejects. */
    private static final class Rejecting extends Serializer<Object> {
        @SuppressWarnings("unchecked")
        Rejecting(Fory fory, Class<?> type) {
            super(fory, (Class<Object>) type);
        }

        @Override
        public void write(MemoryBuffer buffer, Object value) {
            throw new Declined("class " + value.getClass().getName() + " is not Serializable");
        }

        @Override
        public Object read(MemoryBuffer buffer) {
            throw new QuiverException("corrupt value: FORY data names " + type.getName()
                    + ", which Quiver never writes");
        }
    }

    /** {@link Rejecting} for a collection class. */
    @SuppressWarnings("rawtypes")
    private static final class RejectingCollection extends CollectionSerializer<Collection> {
        @SuppressWarnings("unchecked")
        RejectingCollection(Fory fory, Class<?> type) {
            super(fory, (Class<Collection>) type);
        }

        @Override
        public void write(MemoryBuffer buffer, Collection value) {
            throw new Declined("class " + value.getClass().getName() + " is not Serializable");
        }

        @Override
        public Collection onCollectionWrite(MemoryBuffer buffer, Collection value) {
            throw new Declined("class " + value.getClass().getName() + " is not Serializable");
        }

        @Override
        public Collection read(MemoryBuffer buffer) {
            throw new QuiverException("corrupt value: FORY data names " + type.getName()
                    + ", which Quiver never writes");
        }
    }

    /**
     * Receives Fory's output (one write of the whole payload) into a heap buffer of exactly the right
     * size, behind room for the header, and checksums it on the way.
     */
    private static final class Sink extends OutputStream {
        private final ByteBufAllocator alloc;
        private final CRC32C crc = new CRC32C();
        private ByteBuf buf;

        Sink(ByteBufAllocator alloc) {
            this.alloc = alloc;
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (buf == null) {
                buf = alloc.heapBuffer(HEADER + len);
                buf.writeByte(DefaultCodec.FORY).writeInt(0).writeInt(0);
            }
            buf.writeBytes(b, off, len);
            crc.update(b, off, len);
        }

        void release() {
            if (buf != null) {
                buf.release();
                buf = null;
            }
        }
    }
}
