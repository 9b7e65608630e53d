package io.quiver.core.task;

import io.quiver.Fn0;
import io.quiver.Fn1;
import io.quiver.Fn2;
import io.quiver.Fn3;
import io.quiver.QuiverException;
import io.quiver.core.codec.JavaSerialization;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A compact form of a submitted function when it is a lambda (or method reference) in one of the
 * {@link UserFunctions} adapters: what Java serialization would write for the lambda's
 * {@link SerializedLambda}, less its stream machinery, and only the captured values through Java
 * serialization.
 *
 * <pre>
 *  "QFN" 1 | adapter (u8) | shape length (u16) | shape | captured values, or none
 *  shape: capturing class, functional interface class, method name and signature, impl kind (u8),
 *         impl class, impl name and signature, instantiated type  (modified UTF-8 each)
 *  captured values: 'T' | count (u16) | tagged value...   when every one is a boxed primitive, a String or null
 *                   or Java serialization of the Object[]   (starts with 0xACED) for anything else
 *  tagged value:    'N' | 'Z' u8 | 'B' u8 | 'S' u16 | 'C' u16 | 'I' u32 | 'J' u64 | 'F' u32 | 'D' u64
 *                   | 'L' length (u32) latin-1 bytes | 'U' length (u32) UTF-16 chars   (big-endian)
 * </pre>
 *
 * A loop of submits of one lambda (each capturing its own values) writes each lambda's shape once
 * per lambda class (cached here) and only its captured values: Java serialization of the whole
 * lambda cost the client most of each submit. Captures of plain values (an index, a seed, a name)
 * are tagged rather than Java-serialized: a stream per task, on the client and on the executor,
 * was the loop's largest cost and the largest thing the JIT compiled on a cold executor. The
 * executor rebuilds the
 * {@code SerializedLambda} and resolves it through its capturing class's
 * {@code $deserializeLambda$}, exactly as Java deserialization does, through the task's class loader.
 *
 * <p>Anything this form cannot express (not a lambda, a lambda class that gives no
 * {@code SerializedLambda}, a capture that does not serialize) returns null from {@link #encode},
 * and the caller uses plain Java serialization, which also gives the precise error. Thread-safe.
 */
public final class CompactFunctions {
    private static final byte[] MAGIC = {'Q', 'F', 'N', 1};
    private static final Object[] NO_ARGS = {};
    /** The first byte of tagged captured values (Java serialization's stream starts with 0xAC). */
    private static final byte TAGGED = 'T';
    /** Longer captured strings go through Java serialization: a function is a control message. */
    private static final int MAX_TAGGED_CHARS = 1 << 16;

    private CompactFunctions() {}

    /** Per lambda class, its shape bytes once one of its instances was seen (a benign race fills it). */
    private static final ClassValue<byte[][]> SHAPES = new ClassValue<>() {
        @Override
        protected byte[][] computeValue(Class<?> type) {
            return new byte[1][];
        }
    };

    /** The {@code writeReplace} of a lambda class, accessible; null if it has none. */
    private static final ClassValue<Method> WRITE_REPLACE = new ClassValue<>() {
        @Override
        protected Method computeValue(Class<?> type) {
            if (!type.isSynthetic() && !type.isHidden()) {
                return null;
            }
            try {
                Method m = type.getDeclaredMethod("writeReplace");
                m.setAccessible(true);
                return m;
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    /** The {@code $deserializeLambda$} of a capturing class, accessible. */
    private static final ClassValue<Method> DESERIALIZE = new ClassValue<>() {
        @Override
        protected Method computeValue(Class<?> type) {
            try {
                Method m = type.getDeclaredMethod("$deserializeLambda$", SerializedLambda.class);
                m.setAccessible(true);
                return m;
            } catch (ReflectiveOperationException | RuntimeException e) {
                return null;
            }
        }
    };

    /** Whether {@code bytes} are in this form (Java serialization starts with 0xACED instead). */
    public static boolean isCompact(byte[] bytes) {
        return bytes.length >= MAGIC.length && bytes[0] == MAGIC[0] && bytes[1] == MAGIC[1] && bytes[2] == MAGIC[2]
                && bytes[3] == MAGIC[3];
    }

    /** The compact form of {@code fn}, or null if it has none (then serialize it the usual way). */
    public static byte[] encode(TaskFunction fn) {
        int adapter;
        Object lambda;
        if (fn instanceof UserFunctions.Call0 c) {
            adapter = 0;
            lambda = c.fn();
        } else if (fn instanceof UserFunctions.Call1 c) {
            adapter = 1;
            lambda = c.fn();
        } else if (fn instanceof UserFunctions.Call2 c) {
            adapter = 2;
            lambda = c.fn();
        } else if (fn instanceof UserFunctions.Call3 c) {
            adapter = 3;
            lambda = c.fn();
        } else if (fn instanceof UserFunctions.CallList c) {
            adapter = 4;
            lambda = c.fn();
        } else {
            return null;
        }
        if (lambda == null) {
            return null;
        }
        SerializedLambda sl = serializedLambda(lambda.getClass(), lambda);
        if (sl == null) {
            return null;
        }
        byte[][] cached = SHAPES.get(lambda.getClass());
        byte[] shape = cached[0];
        if (shape == null) {
            shape = shape(sl);
            cached[0] = shape;
        }
        if (shape.length > 0xFFFF) {
            return null;
        }
        Object[] captured = new Object[sl.getCapturedArgCount()];
        for (int i = 0; i < captured.length; i++) {
            captured[i] = sl.getCapturedArg(i);
        }
        byte[] args = captured.length == 0 ? new byte[0] : tagged(captured);
        if (args == null) {
            try {
                args = JavaSerialization.serialize(captured, "captured values");
            } catch (RuntimeException e) {
                return null; // the usual path says what does not serialize, and where it is
            }
        }
        byte[] out = new byte[MAGIC.length + 3 + shape.length + args.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[4] = (byte) adapter;
        out[5] = (byte) (shape.length >>> 8);
        out[6] = (byte) shape.length;
        System.arraycopy(shape, 0, out, 7, shape.length);
        System.arraycopy(args, 0, out, 7 + shape.length, args.length);
        return out;
    }

    /**
     * Rebuilds a function from its compact form, resolving classes through {@code loader}.
     *
     * @throws QuiverException naming what is wrong if the bytes are malformed or name a lambda
     *     that its capturing class does not define
     * @throws JavaSerialization.MissingClassException if a class is not on {@code loader}'s path
     */
    public static TaskFunction decode(byte[] bytes, ClassLoader loader) {
        if (!isCompact(bytes) || bytes.length < MAGIC.length + 3) {
            throw new QuiverException("not a compact function: " + bytes.length + " bytes without its header");
        }
        int adapter = bytes[4];
        int shapeLength = ((bytes[5] & 0xFF) << 8) | (bytes[6] & 0xFF);
        if (7 + shapeLength > bytes.length) {
            throw new QuiverException("corrupt compact function: its shape of " + shapeLength + " bytes runs past its "
                    + bytes.length + " bytes");
        }
        Shape shape = Shape.of(bytes, 7, shapeLength);
        Object[] captured = NO_ARGS;
        if (7 + shapeLength < bytes.length && bytes[7 + shapeLength] == TAGGED) {
            captured = untagged(bytes, 7 + shapeLength);
        } else if (7 + shapeLength < bytes.length) {
            int from = 7 + shapeLength;
            Object o;
            try {
                o = JavaSerialization.readFrom(new java.io.ByteArrayInputStream(bytes, from, bytes.length - from), loader,
                        bytes.length - from);
            } catch (IOException e) {
                throw new QuiverException("corrupt compact function: its captured values do not read: " + e, e);
            }
            if (!(o instanceof Object[] a)) {
                throw new QuiverException("corrupt compact function: its captured values are a "
                        + (o == null ? "null" : o.getClass().getName()) + ", not an Object[]");
            }
            captured = a;
        }
        Class<?> capturingClass = shape.capturingClass(loader != null ? loader : CompactFunctions.class.getClassLoader());
        Method deserialize = DESERIALIZE.get(capturingClass);
        if (deserialize == null) {
            throw new QuiverException("class " + capturingClass.getName() + " defines no serializable lambda ("
                    + shape.implName + "); the executor has another version of it than the client");
        }
        SerializedLambda sl = new SerializedLambda(capturingClass, shape.fiClass, shape.fiName, shape.fiSig, shape.kind,
                shape.implClass, shape.implName, shape.implSig, shape.instantiated, captured);
        Object lambda;
        try {
            lambda = deserialize.invoke(null, sl);
        } catch (ReflectiveOperationException | RuntimeException e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
            throw new QuiverException("could not rebuild lambda " + shape.implName + " of " + capturingClass.getName()
                    + ": " + cause + "; the executor may have another version of the class than the client", cause);
        }
        return switch (adapter) {
            case 0 -> new UserFunctions.Call0((Fn0<?>) lambda);
            case 1 -> new UserFunctions.Call1((Fn1<?, ?>) lambda);
            case 2 -> new UserFunctions.Call2((Fn2<?, ?, ?>) lambda);
            case 3 -> new UserFunctions.Call3((Fn3<?, ?, ?, ?>) lambda);
            case 4 -> new UserFunctions.CallList((Fn1<?, ?>) lambda);
            default -> throw new QuiverException("corrupt compact function: unknown adapter " + adapter);
        };
    }

    /** The lambda's SerializedLambda, or null if it is not a serializable lambda. */
    private static SerializedLambda serializedLambda(Class<?> type, Object instance) {
        Method m = WRITE_REPLACE.get(type);
        if (m == null) {
            return null;
        }
        try {
            return m.invoke(instance) instanceof SerializedLambda sl ? sl : null;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The captured values tagged, or null if one of them is not a value this form carries. */
    private static byte[] tagged(Object[] values) {
        if (values.length > 0xFFFF) {
            return null;
        }
        int size = 3;
        for (Object v : values) {
            int n = taggedSize(v);
            if (n < 0) {
                return null;
            }
            size += n;
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.put(TAGGED).putShort((short) values.length);
        for (Object v : values) {
            if (v == null) {
                out.put((byte) 'N');
            } else if (v instanceof Integer i) {
                out.put((byte) 'I').putInt(i);
            } else if (v instanceof Long l) {
                out.put((byte) 'J').putLong(l);
            } else if (v instanceof Double d) {
                out.put((byte) 'D').putLong(Double.doubleToRawLongBits(d));
            } else if (v instanceof Float f) {
                out.put((byte) 'F').putInt(Float.floatToRawIntBits(f));
            } else if (v instanceof Boolean z) {
                out.put((byte) 'Z').put((byte) (z ? 1 : 0));
            } else if (v instanceof Byte b) {
                out.put((byte) 'B').put(b);
            } else if (v instanceof Short sh) {
                out.put((byte) 'S').putShort(sh);
            } else if (v instanceof Character c) {
                out.put((byte) 'C').putChar(c);
            } else {
                String str = (String) v;
                if (isLatin1(str)) {
                    out.put((byte) 'L').putInt(str.length());
                    for (int i = 0; i < str.length(); i++) {
                        out.put((byte) str.charAt(i));
                    }
                } else {
                    out.put((byte) 'U').putInt(str.length());
                    for (int i = 0; i < str.length(); i++) {
                        out.putChar(str.charAt(i));
                    }
                }
            }
        }
        return out.array();
    }

    /** The bytes {@code v} takes tagged, or -1 if it is not a value this form carries. */
    private static int taggedSize(Object v) {
        if (v == null) {
            return 1;
        } else if (v instanceof Integer || v instanceof Float) {
            return 5;
        } else if (v instanceof Long || v instanceof Double) {
            return 9;
        } else if (v instanceof Boolean || v instanceof Byte) {
            return 2;
        } else if (v instanceof Short || v instanceof Character) {
            return 3;
        } else if (v instanceof String str && str.length() <= MAX_TAGGED_CHARS) {
            return 5 + (isLatin1(str) ? 1 : 2) * str.length();
        }
        return -1;
    }

    private static boolean isLatin1(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                return false;
            }
        }
        return true;
    }

    /** The tagged values starting at {@code from}; the error names what does not parse. */
    private static Object[] untagged(byte[] bytes, int from) {
        ByteBuffer in = ByteBuffer.wrap(bytes, from, bytes.length - from);
        try {
            in.get(); // the tag of the section
            Object[] values = new Object[Short.toUnsignedInt(in.getShort())];
            for (int i = 0; i < values.length; i++) {
                byte tag = in.get();
                values[i] = switch (tag) {
                    case 'N' -> null;
                    case 'I' -> in.getInt();
                    case 'J' -> in.getLong();
                    case 'D' -> Double.longBitsToDouble(in.getLong());
                    case 'F' -> Float.intBitsToFloat(in.getInt());
                    case 'Z' -> in.get() != 0;
                    case 'B' -> in.get();
                    case 'S' -> in.getShort();
                    case 'C' -> in.getChar();
                    case 'L', 'U' -> string(in, tag == 'L');
                    default -> throw new QuiverException("corrupt compact function: captured value " + i
                            + " has unknown tag 0x" + Integer.toHexString(tag & 0xFF));
                };
            }
            if (in.hasRemaining()) {
                throw new QuiverException("corrupt compact function: " + in.remaining()
                        + " bytes follow its captured values");
            }
            return values;
        } catch (java.nio.BufferUnderflowException e) {
            throw new QuiverException("corrupt compact function: its captured values run past its " + bytes.length
                    + " bytes", e);
        }
    }

    private static String string(ByteBuffer in, boolean latin1) {
        int length = in.getInt();
        if (length < 0 || length > MAX_TAGGED_CHARS || (long) length * (latin1 ? 1 : 2) > in.remaining()) {
            throw new QuiverException("corrupt compact function: a captured string of " + length
                    + " characters in " + in.remaining() + " bytes");
        }
        if (latin1) {
            String s = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.ISO_8859_1);
            in.position(in.position() + length);
            return s;
        }
        char[] chars = new char[length];
        in.asCharBuffer().get(chars);
        in.position(in.position() + 2 * length);
        return new String(chars);
    }

    /**
     * A lambda's shape as read, kept per distinct shape bytes: every task of a submit loop names the
     * same one, and reading its nine strings again for each was a cost per task. Class names, and
     * the last class resolved only weakly, so the cache holds no class loader. Thread-safe (a
     * benign race sets the last class).
     */
    private static final class Shape {
        private static final int MAX_CACHED = 4096;

        final String capturing;
        final String fiClass;
        final String fiName;
        final String fiSig;
        final int kind;
        final String implClass;
        final String implName;
        final String implSig;
        final String instantiated;
        /** The capturing class last resolved, and through which loader; a benign race sets it. */
        private volatile Resolved last;

        Shape(String capturing, String fiClass, String fiName, String fiSig, int kind, String implClass,
              String implName, String implSig, String instantiated) {
            this.capturing = capturing;
            this.fiClass = fiClass;
            this.fiName = fiName;
            this.fiSig = fiSig;
            this.kind = kind;
            this.implClass = implClass;
            this.implName = implName;
            this.implSig = implSig;
            this.instantiated = instantiated;
        }

        /**
         * The capturing class through {@code loader}: the last one resolved is kept, weakly, so a
         * loop of one lambda's tasks looks it up once (Class.forName was 7% of a chain's worker).
         */
        Class<?> capturingClass(ClassLoader loader) {
            Resolved r = last;
            if (r != null && r.loader.get() == loader) {
                Class<?> c = r.type.get();
                if (c != null) {
                    return c;
                }
            }
            Class<?> c;
            try {
                c = Class.forName(capturing.replace('/', '.'), false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                throw new JavaSerialization.MissingClassException(capturing.replace('/', '.'), e);
            }
            last = new Resolved(new java.lang.ref.WeakReference<>(loader), new java.lang.ref.WeakReference<>(c));
            return c;
        }

        private static final ConcurrentHashMap<ShapeKey, Shape> CACHE = new ConcurrentHashMap<>();

        static Shape of(byte[] bytes, int from, int length) {
            Shape cached = CACHE.get(new ShapeKey(bytes, from, length));
            if (cached != null) {
                return cached;
            }
            Shape shape = parse(bytes, from, length);
            if (CACHE.size() >= MAX_CACHED) {
                CACHE.clear(); // more distinct lambdas than a program has: start over rather than grow
            }
            CACHE.put(new ShapeKey(Arrays.copyOfRange(bytes, from, from + length), 0, length), shape);
            return shape;
        }

        private static Shape parse(byte[] bytes, int from, int length) {
            try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, from, length))) {
                return new Shape(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF(), in.readUnsignedByte(),
                        in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF());
            } catch (IOException e) {
                throw new QuiverException("corrupt compact function: its shape does not parse: " + e, e);
            }
        }
    }

    /** A class as one loader resolved it; weak, so that the cache keeps neither alive. */
    private record Resolved(java.lang.ref.WeakReference<ClassLoader> loader, java.lang.ref.WeakReference<Class<?>> type) {}

    /** A range of bytes compared by content. */
    private static final class ShapeKey {
        private final byte[] bytes;
        private final int from;
        private final int length;
        private final int hash;

        ShapeKey(byte[] bytes, int from, int length) {
            this.bytes = bytes;
            this.from = from;
            this.length = length;
            int h = 1;
            for (int i = from; i < from + length; i++) {
                h = 31 * h + bytes[i];
            }
            this.hash = h;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof ShapeKey k && k.hash == hash
                    && Arrays.equals(bytes, from, from + length, k.bytes, k.from, k.from + k.length);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static byte[] shape(SerializedLambda sl) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeUTF(sl.getCapturingClass());
            out.writeUTF(sl.getFunctionalInterfaceClass());
            out.writeUTF(sl.getFunctionalInterfaceMethodName());
            out.writeUTF(sl.getFunctionalInterfaceMethodSignature());
            out.writeByte(sl.getImplMethodKind());
            out.writeUTF(sl.getImplClass());
            out.writeUTF(sl.getImplMethodName());
            out.writeUTF(sl.getImplMethodSignature());
            out.writeUTF(sl.getInstantiatedMethodType());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return bytes.toByteArray();
    }
}
