package io.quiver.local;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** File chores of the launcher: quiet recursive delete, the tail of a log. */
final class Files2 {
    private static final Logger LOG = LoggerFactory.getLogger(Files2.class);

    private Files2() {}

    /** Deletes a directory tree; logs instead of throwing, since it runs while closing. */
    static void deleteRecursively(Path dir) {
        try {
            MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE);
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            StringBuilder why = new StringBuilder(e.toString());
            for (Throwable suppressed : e.getSuppressed()) {
                why.append("; ").append(suppressed);
            }
            LOG.warn("cannot delete {}: {}", dir, why);
        }
    }

    /** The last {@code lines} lines of a text file, or a note saying why there are none. */
    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> last = all.subList(Math.max(0, all.size() - lines), all.size());
            return last.isEmpty() ? "(log is empty)" : String.join(System.lineSeparator(), last);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }
}
