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

/**
 * A compact form of a submitted function when it is a lambda (or method reference) in one of the
 * {@link UserFunctions} adapters: what Java serialization would write for the lambda's
 * {@link SerializedLambda}, less its stream machinery, and only the captured values through Java
 * serialization.
 *
 * <pre>
 *  "QFN" 1 | adapter (u8) | shape length (u16) | shape | captured values (Java serialization of Object[], or none)
 *  shape: capturing class, functional interface class, method name and signature, impl kind (u8),
 *         impl class, impl name and signature, instantiated type  (modified UTF-8 each)
 * </pre>
 *
 * A loop of submits of one lambda (each capturing its own values) writes each lambda's shape once
 * per lambda class (cached here) and serializes only its captured values: Java serialization of the
 * whole lambda cost the client most of each submit. The executor rebuilds the
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
        byte[] args;
        try {
            args = captured.length == 0 ? new byte[0] : JavaSerialization.serialize(captured, "captured values");
        } catch (RuntimeException e) {
            return null; // the usual path says what does not serialize, and where it is
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
        String capturing;
        String fiClass;
        String fiName;
        String fiSig;
        int kind;
        String implClass;
        String implName;
        String implSig;
        String instantiated;
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, 7, shapeLength))) {
            capturing = in.readUTF();
            fiClass = in.readUTF();
            fiName = in.readUTF();
            fiSig = in.readUTF();
            kind = in.readUnsignedByte();
            implClass = in.readUTF();
            implName = in.readUTF();
            implSig = in.readUTF();
            instantiated = in.readUTF();
        } catch (IOException e) {
            throw new QuiverException("corrupt compact function: its shape does not parse: " + e, e);
        }
        Object[] captured = NO_ARGS;
        if (7 + shapeLength < bytes.length) {
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
        Class<?> capturingClass;
        try {
            capturingClass = Class.forName(capturing.replace('/', '.'), false,
                    loader != null ? loader : CompactFunctions.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new JavaSerialization.MissingClassException(capturing.replace('/', '.'), e);
        }
        Method deserialize = DESERIALIZE.get(capturingClass);
        if (deserialize == null) {
            throw new QuiverException("class " + capturingClass.getName() + " defines no serializable lambda ("
                    + implName + "); the executor has another version of it than the client");
        }
        SerializedLambda sl = new SerializedLambda(capturingClass, fiClass, fiName, fiSig, kind, implClass, implName,
                implSig, instantiated, captured);
        Object lambda;
        try {
            lambda = deserialize.invoke(null, sl);
        } catch (ReflectiveOperationException | RuntimeException e) {
            Throwable cause = e instanceof java.lang.reflect.InvocationTargetException ite ? ite.getCause() : e;
            throw new QuiverException("could not rebuild lambda " + implName + " of " + capturingClass.getName()
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
