package io.quiver.local;

import java.lang.ref.WeakReference;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Where code shipped by a test records the class loaders it ran in (weakly, so that they can still go). */
public final class LoaderProbe {
    static final List<WeakReference<ClassLoader>> SEEN = new CopyOnWriteArrayList<>();
    static final List<String> NAMES = new CopyOnWriteArrayList<>();

    private LoaderProbe() {}

    public static void record(ClassLoader loader) {
        SEEN.add(new WeakReference<>(loader));
        NAMES.add(String.valueOf(loader.getName()));
    }

    /** Names of the loaders still reachable, for a failure message. */
    static Object describeAlive() {
        return new Object() {
            @Override
            public String toString() {
                List<String> alive = new java.util.ArrayList<>();
                for (int i = 0; i < SEEN.size(); i++) {
                    ClassLoader l = SEEN.get(i).get();
                    if (l != null) {
                        alive.add("#" + i + " " + l.getName());
                    }
                }
                return alive.toString();
            }
        };
    }

    static long alive() {
        return SEEN.stream().filter(r -> r.get() != null).count();
    }
}
