package io.quiver.core.codec;

import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Finds where a non-serializable object hides in a graph (a lambda's captured argument, a field of
 * a field) so that the error can say which capture to fix. Best effort: fields that the module
 * system keeps closed are skipped.
 */
final class SerializationDiagnosis {
    private static final int MAX_VISITS = 10_000;

    private SerializationDiagnosis() {}

    static String explain(Object root, String offendingClass) {
        String path;
        try {
            path = find(root, offendingClass);
        } catch (RuntimeException e) {
            path = null; // a collection that fails to iterate must not hide the real error
        }
        String where = path == null ? "" : " (reached through " + path + ")";
        return "class " + offendingClass + " is not Serializable" + where
                + "; make it implement java.io.Serializable, mark the field transient, or create the object"
                + " inside the function instead of capturing it";
    }

    private record Node(Object value, String path) {}

    private static String find(Object root, String offendingClass) {
        Deque<Node> queue = new ArrayDeque<>();
        Map<Object, Boolean> seen = new IdentityHashMap<>();
        queue.add(new Node(root, describe(root)));
        int visits = 0;
        while (!queue.isEmpty() && visits++ < MAX_VISITS) {
            Node node = queue.poll();
            Object value = node.value;
            if (value == null || seen.put(value, Boolean.TRUE) != null) {
                continue;
            }
            Class<?> type = value.getClass();
            if (type.getName().equals(offendingClass)) {
                return node.path;
            }
            SerializedLambda lambda = JavaSerialization.serializedLambda(value);
            if (lambda != null) {
                for (int i = 0; i < lambda.getCapturedArgCount(); i++) {
                    Object arg = lambda.getCapturedArg(i);
                    queue.add(new Node(arg, node.path + " -> captured arg " + i + " ("
                            + (arg == null ? "null" : arg.getClass().getName()) + ")"));
                }
            } else if (type.isArray() && !type.getComponentType().isPrimitive()) {
                for (int i = 0; i < Math.min(Array.getLength(value), 1000); i++) {
                    queue.add(new Node(Array.get(value, i), node.path + "[" + i + "]"));
                }
            } else if (value instanceof Collection<?> c) {
                int i = 0;
                for (Object e : c) {
                    if (i++ > 1000) {
                        break;
                    }
                    queue.add(new Node(e, node.path + " -> element"));
                }
            } else if (value instanceof Map<?, ?> m) {
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    queue.add(new Node(e.getKey(), node.path + " -> key"));
                    queue.add(new Node(e.getValue(), node.path + " -> value of " + e.getKey()));
                }
            } else {
                for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
                    for (Field f : c.getDeclaredFields()) {
                        if (Modifier.isStatic(f.getModifiers()) || Modifier.isTransient(f.getModifiers())
                                || f.getType().isPrimitive()) {
                            continue;
                        }
                        try {
                            f.setAccessible(true);
                            queue.add(new Node(f.get(value), node.path + " -> field " + c.getSimpleName() + "." + f.getName()));
                        } catch (RuntimeException | IllegalAccessException e) {
                            // closed by the module system: skip
                        }
                    }
                }
            }
        }
        return null;
    }

    private static String describe(Object root) {
        return root == null ? "null" : JavaSerialization.serializedLambda(root) != null ? "the lambda" : root.getClass().getName();
    }

}
