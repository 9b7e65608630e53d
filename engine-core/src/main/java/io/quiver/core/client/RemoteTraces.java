package io.quiver.core.client;

import io.quiver.RemoteException;
import java.lang.reflect.Constructor;
import java.util.ArrayList;
import java.util.List;

/**
 * Rebuilds a remote exception from the text {@code Throwable.printStackTrace} wrote on an executor:
 * its type, message, frames and chain of causes. The remote type itself is used when it loads
 * here and has a public {@code (String)} constructor; otherwise a {@link RemoteException} stands in
 * for it. Pure: no I/O, any thread.
 */
public final class RemoteTraces {
    private static final String CAUSED_BY = "Caused by: ";

    private RemoteTraces() {}

    /**
     * The remote exception, rebuilt.
     *
     * @param type the remote class name
     * @param message the remote message, or null
     * @param stack the remote {@code printStackTrace} text, or null
     * @return the exception, never null
     */
    public static Throwable rebuild(String type, String message, String stack) {
        List<String> lines = stack == null ? List.of() : stack.lines().toList();
        int[] pos = {0};
        Throwable t = null;
        if (!lines.isEmpty()) {
            pos[0] = 1; // the header line: type and message, which we have exactly
            t = parseFrom(type, message, lines, pos, new StackTraceElement[0]);
        }
        return t != null ? t : instantiate(type, message);
    }

    /** Reads the frames after a header, then a "Caused by:" chain; skips suppressed sections. */
    private static Throwable parseFrom(String type, String message, List<String> lines, int[] pos,
                                       StackTraceElement[] enclosing) {
        Throwable t = instantiate(type, message);
        List<StackTraceElement> frames = new ArrayList<>();
        Throwable cause = null;
        while (pos[0] < lines.size()) {
            String line = lines.get(pos[0]).strip();
            if (line.startsWith("at ")) {
                StackTraceElement e = frame(line.substring(3));
                if (e != null) {
                    frames.add(e);
                }
                pos[0]++;
            } else if (line.startsWith("... ") && line.endsWith(" more")) {
                int more = parseInt(line.substring(4, line.length() - 5));
                for (int i = Math.max(0, enclosing.length - more); i < enclosing.length; i++) {
                    frames.add(enclosing[i]);
                }
                pos[0]++;
            } else if (line.startsWith(CAUSED_BY)) {
                String header = line.substring(CAUSED_BY.length());
                pos[0]++;
                int colon = header.indexOf(": ");
                String ct = colon < 0 ? header : header.substring(0, colon);
                String cm = colon < 0 ? null : header.substring(colon + 2);
                cause = parseFrom(ct, cm, lines, pos, frames.toArray(new StackTraceElement[0]));
                break;
            } else {
                pos[0]++; // "Suppressed:" sections and anything else: their frames are skipped as they come
            }
        }
        t.setStackTrace(frames.toArray(new StackTraceElement[0]));
        if (cause != null) {
            try {
                t.initCause(cause);
            } catch (IllegalStateException alreadySet) {
                // a constructor that set its own cause: keep it
            }
        }
        return t;
    }

    /** {@code [loader/][module[@version]/]pkg.Class.method(File.java:12)}, as StackTraceElement.toString writes. */
    static StackTraceElement frame(String text) {
        int open = text.lastIndexOf('(');
        int close = text.lastIndexOf(')');
        if (open < 0 || close < open) {
            return null;
        }
        String where = text.substring(0, open);
        String source = text.substring(open + 1, close);
        String loader = null;
        String module = null;
        String version = null;
        String[] parts = where.split("/", -1);
        String qualified = parts[parts.length - 1];
        if (parts.length == 3) {
            loader = parts[0].isEmpty() ? null : parts[0];
            module = parts[1].isEmpty() ? null : parts[1];
        } else if (parts.length == 2) {
            module = parts[0].isEmpty() ? null : parts[0];
        }
        if (module != null && module.contains("@")) {
            version = module.substring(module.indexOf('@') + 1);
            module = module.substring(0, module.indexOf('@'));
        }
        int dot = qualified.lastIndexOf('.');
        if (dot < 0) {
            return null;
        }
        String file = null;
        int line = -1;
        if (source.equals("Native Method")) {
            line = -2;
        } else if (!source.equals("Unknown Source")) {
            int c = source.lastIndexOf(':');
            file = c < 0 ? source : source.substring(0, c);
            line = c < 0 ? -1 : parseInt(source.substring(c + 1));
        }
        return new StackTraceElement(loader, module, version, qualified.substring(0, dot), qualified.substring(dot + 1),
                file, line);
    }

    private static int parseInt(String s) {
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The remote type when it is a loadable Throwable with a public (String) constructor, else a stand-in. */
    private static Throwable instantiate(String type, String message) {
        try {
            ClassLoader cl = Thread.currentThread().getContextClassLoader();
            Class<?> c = Class.forName(type, false, cl != null ? cl : RemoteTraces.class.getClassLoader());
            if (Throwable.class.isAssignableFrom(c)) {
                Constructor<?> k = c.getConstructor(String.class);
                Throwable t = (Throwable) k.newInstance(message);
                if (java.util.Objects.equals(t.getMessage(), message)) {
                    return t;
                }
            }
        } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
            // not loadable here, or not constructible from a message: the stand-in tells the same
        }
        return new RemoteException(type, message);
    }
}
