package io.quiver.core.plan;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads the lines of one {@link TextSplit}: exactly the lines whose first byte lies in
 * {@code [start, end)}. A line begins at offset 0 or right after a {@code \n}; so a split that does
 * not start at 0 first skips through the first {@code \n} at or after {@code start - 1}, and every
 * split reads past {@code end} to finish its last line. Lines are UTF-8 (a {@code \n} byte never
 * occurs inside a multi-byte character, so byte offsets are safe cut points); a {@code \r} right
 * before the {@code \n} is dropped. Confined to one task's thread.
 */
final class TextSplitReader implements Batches {
    private final TextSplit split;
    private FileChannel channel;
    private InputStream in;
    private final byte[] buffer = new byte[64 * 1024];
    private int bufferPos;
    private int bufferEnd;
    /** File offset of the next unread byte. */
    private long pos;
    private boolean eof;
    private byte[] line = new byte[256];

    TextSplitReader(TextSplit split) {
        this.split = split;
    }

    private void open() throws IOException {
        channel = FileChannel.open(Path.of(split.path()), StandardOpenOption.READ);
        if (split.start() > 0) {
            channel.position(split.start() - 1);
            pos = split.start() - 1;
            in = Channels.newInputStream(channel);
            // Skip the tail of the line that began before us (or the \n right before start).
            int b;
            while ((b = read()) != -1 && b != '\n') {
                // skipping
            }
        } else {
            in = Channels.newInputStream(channel);
        }
    }

    @Override
    public boolean next(Batch out) throws IOException {
        out.clear();
        if (channel == null) {
            if (split.start() >= split.end()) {
                return false;
            }
            open();
        }
        while (!eof && pos < split.end() && !out.isFull()) {
            String l = readLine();
            if (l != null) {
                out.add(l);
            }
        }
        return out.size > 0;
    }

    /** Reads through the next \n or the end of the file; null at the end of the file. */
    private String readLine() throws IOException {
        int n = 0;
        int b;
        while ((b = read()) != -1 && b != '\n') {
            if (n == line.length) {
                line = Arrays.copyOf(line, n * 2);
            }
            line[n++] = (byte) b;
        }
        if (b == -1 && n == 0) {
            return null; // the file ends with a \n: no empty line after it
        }
        if (n > 0 && line[n - 1] == '\r' && b == '\n') {
            n--;
        }
        return new String(line, 0, n, StandardCharsets.UTF_8);
    }

    private int read() throws IOException {
        if (bufferPos == bufferEnd) {
            int r = in.read(buffer, 0, buffer.length);
            if (r <= 0) {
                eof = true;
                return -1;
            }
            bufferPos = 0;
            bufferEnd = r;
        }
        pos++;
        return buffer[bufferPos++] & 0xff;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
