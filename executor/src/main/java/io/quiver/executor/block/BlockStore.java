package io.quiver.executor.block;

import static com.google.common.base.Preconditions.checkArgument;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.quiver.QuiverException;
import io.quiver.RefId;
import io.quiver.core.protocol.Message.BlockInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An executor's blocks: encoded bytes ({@link ByteBuf}, direct for large ones) plus the decoded
 * value, decoded at most once while the block stays in memory and shared read-only.
 *
 * <p>Thread-safe: workers, Netty event loops and the executor loop all use it. Metadata is guarded
 * by the store's monitor; decoding and disk I/O run outside it. {@link #memoryUsed()} is the sum
 * of the encoded sizes held in memory. When it exceeds the limit, least-recently-used blocks are
 * written to files under {@code dir} on the {@code disk} executor and read back on demand, which
 * tasks and fetches do not notice. Methods that may read from disk say "Blocking": never call them
 * from an event loop.
 */
public final class BlockStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BlockStore.class);
    /** Blocks at least this large live in direct memory, so they stream to sockets without a copy. */
    public static final int DIRECT_THRESHOLD = 64 << 10;

    /** Where a block is. */
    public enum Residency { ABSENT, MEMORY, DISK }

    /** A block that is not (or no longer) in this store. */
    public static final class MissingBlockException extends QuiverException {
        private final transient RefId ref;

        public MissingBlockException(RefId ref) {
            super("block " + ref + " is not in this executor's store (dropped or never stored)");
            this.ref = ref;
        }

        /** The block that was not there. */
        public RefId ref() {
            return ref;
        }
    }

    private static final class Block {
        final RefId ref;
        final long size;
        final Object loadLock = new Object();
        ByteBuf data; // null while spilled
        Path file; // the spill file, once written (kept after a read-back: re-spilling is then free)
        Object value;
        boolean decoded;
        boolean spilling;
        boolean dropped;
        /** A shuffle map output's rows per bucket, reported with the inventory; null for other blocks. */
        int[] bucketRows;

        Block(RefId ref, long size) {
            this.ref = ref;
            this.size = size;
        }
    }

    private final Path dir;
    private final long limit;
    private final Executor disk;
    private final ByteBufAllocator alloc;
    /** Access order: the first entry is the least recently used. */
    private final LinkedHashMap<RefId, Block> blocks = new LinkedHashMap<>(64, 0.75f, true);
    private final Map<RefId, LongAdder> decodes = new ConcurrentHashMap<>();
    private final LongAdder spills = new LongAdder();
    private final LongAdder readBacks = new LongAdder();
    private final LongAdder spilledBytes = new LongAdder();
    private long memoryUsed;
    private long fileSeq;
    private boolean spillScheduled;
    private long receiving;
    private boolean closed;

    /**
     * @param dir the spill directory; created on first spill, deleted with its files on close
     * @param limit bytes of encoded blocks kept in memory before spilling
     * @param disk runs spills (one at a time is enough); {@code Runnable::run} spills synchronously
     */
    public BlockStore(Path dir, long limit, Executor disk, ByteBufAllocator alloc) {
        checkArgument(limit > 0, "memory limit must be > 0 bytes, got %s", limit);
        this.dir = dir;
        this.limit = limit;
        this.disk = disk;
        this.alloc = alloc;
    }

    /** Allocates a buffer for a block of {@code size} bytes: direct when large. */
    public ByteBuf allocate(long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new QuiverException("block of " + size + " bytes is too large (over 2 GiB); split the value");
        }
        int n = (int) size;
        return n >= DIRECT_THRESHOLD ? alloc.directBuffer(n, n) : alloc.heapBuffer(n, n);
    }

    /**
     * Stores a block, taking ownership of {@code data} (its readable bytes are the block). A block
     * already stored under {@code ref} is replaced.
     *
     * @param value the decoded value, if the caller has it (a task's live output), else null
     * @param hasValue whether {@code value} is the decoded value (values may be null)
     */
    public void put(RefId ref, ByteBuf data, Object value, boolean hasValue) {
        put(ref, data, value, hasValue, null);
    }

    /**
     * {@link #put(RefId, ByteBuf, Object, boolean)} for a shuffle map output: its row summary goes
     * with it into the inventory, so a new leader's reduce tasks skip it where it has no rows.
     */
    public void put(RefId ref, ByteBuf data, Object value, boolean hasValue, int[] bucketRows) {
        Block b = new Block(ref, data.readableBytes());
        b.bucketRows = bucketRows;
        b.data = data;
        b.value = value;
        b.decoded = hasValue;
        Block old;
        boolean spill;
        synchronized (this) {
            if (closed) {
                data.release();
                return;
            }
            old = blocks.put(ref, b);
            memoryUsed += b.size;
            if (old != null) {
                discardLocked(old);
            }
            spill = needsSpillLocked();
        }
        if (old != null) {
            deleteFile(old);
        }
        if (spill) {
            disk.execute(this::spill);
        }
    }

    /**
     * Counts {@code delta} bytes of blocks still being received (negative once they are stored or
     * dropped) as memory in use, so the blocks already stored spill to make room for them: a peer
     * sending blocks is bounded by this store's limit, not by the blocks' sizes.
     */
    public void receiving(long delta) {
        boolean spill;
        synchronized (this) {
            memoryUsed += delta;
            receiving += delta;
            spill = delta > 0 && needsSpillLocked();
        }
        if (spill) {
            disk.execute(this::spill);
        }
    }

    /**
     * Blocking: a new, empty file under this store's directory for a block that is received straight
     * to disk because it does not fit in memory (see {@link #putFile}).
     */
    public Path newFile(RefId ref) throws IOException {
        Files.createDirectories(dir);
        long seq;
        synchronized (this) {
            seq = fileSeq++;
        }
        Path file = dir.resolve(ref + "-" + seq + ".blk");
        Files.createFile(file);
        return file;
    }

    /**
     * Stores a block whose {@code size} bytes the caller wrote to {@code file} (from {@link #newFile}):
     * it is held as if spilled, and read back on demand. A block already stored under {@code ref} is
     * replaced; after {@link #close()} the file is deleted.
     */
    public void putFile(RefId ref, Path file, long size) {
        Block b = new Block(ref, size);
        b.file = file;
        Block old;
        synchronized (this) {
            if (closed) {
                old = b;
            } else {
                old = blocks.put(ref, b);
                if (old != null) {
                    discardLocked(old);
                }
            }
        }
        if (old != null) {
            deleteFile(old);
        }
    }

    /** Bytes of blocks being received, counted in {@link #memoryUsed()}. */
    public synchronized long receivingBytes() {
        return receiving;
    }

    /** Stores a block unless one is already stored under {@code ref}; releases {@code data} then. */
    public boolean putIfAbsent(RefId ref, ByteBuf data) {
        synchronized (this) {
            if (blocks.containsKey(ref)) {
                data.release();
                return false;
            }
        }
        put(ref, data, null, false);
        return true;
    }

    public synchronized boolean contains(RefId ref) {
        return blocks.containsKey(ref);
    }

    public synchronized Residency residency(RefId ref) {
        Block b = blocks.get(ref);
        return b == null ? Residency.ABSENT : b.data != null ? Residency.MEMORY : Residency.DISK;
    }

    /** The block's decoded value if a task has it already (its live output, or decoded), else null. Never blocks. */
    public synchronized Object decodedValue(RefId ref) {
        Block b = blocks.get(ref);
        return b != null && b.decoded ? b.value : null;
    }

    /** The block's size in bytes, or -1 if absent. */
    public synchronized long size(RefId ref) {
        Block b = blocks.get(ref);
        return b == null ? -1 : b.size;
    }

    /**
     * The block's decoded value, decoding it with {@code decoder} if no task has yet (at most once
     * while the block stays in memory, however many threads ask at once). Blocking: may read the
     * block back from disk, and waits for a concurrent decode of the same block.
     *
     * @throws MissingBlockException if the block is absent
     */
    public Object value(RefId ref, Function<ByteBuf, Object> decoder) {
        Block b;
        synchronized (this) {
            b = blocks.get(ref);
            if (b == null) {
                throw new MissingBlockException(ref);
            }
            if (b.decoded) {
                return b.value;
            }
        }
        synchronized (b.loadLock) {
            synchronized (this) {
                if (b.decoded) {
                    return b.value;
                }
            }
            ByteBuf data = retainedData(b);
            Object value;
            try {
                value = decoder.apply(data.duplicate());
            } finally {
                data.release();
            }
            decodes.computeIfAbsent(ref, r -> new LongAdder()).increment();
            synchronized (this) {
                if (b.data != null && !b.dropped) {
                    b.value = value;
                    b.decoded = true;
                }
            }
            return value;
        }
    }

    /**
     * The block's bytes as a retained duplicate the caller must release; null if absent.
     * Blocking: reads a spilled block back into memory.
     */
    public ByteBuf retainedData(RefId ref) {
        Block b;
        synchronized (this) {
            b = blocks.get(ref);
            if (b == null) {
                return null;
            }
            if (b.data != null) {
                return b.data.retainedDuplicate();
            }
        }
        synchronized (b.loadLock) {
            try {
                return retainedData(b);
            } catch (MissingBlockException e) {
                return null;
            }
        }
    }

    /** The block's bytes as a retained duplicate if it is in memory, else null. Never blocks on I/O. */
    public synchronized ByteBuf retainedDataIfInMemory(RefId ref) {
        Block b = blocks.get(ref);
        return b == null || b.data == null ? null : b.data.retainedDuplicate();
    }

    /** Called with b.loadLock held. */
    private ByteBuf retainedData(Block b) {
        Path file;
        synchronized (this) {
            if (b.dropped) {
                throw new MissingBlockException(b.ref);
            }
            if (b.data != null) {
                return b.data.retainedDuplicate();
            }
            file = b.file;
        }
        ByteBuf buf = allocate(b.size);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = 0;
            while (pos < b.size) {
                int n = buf.writeBytes(ch, pos, (int) (b.size - pos));
                if (n < 0) {
                    throw new IOException("spill file " + file + " is shorter than the block's " + b.size + " bytes");
                }
                pos += n;
            }
        } catch (IOException e) {
            buf.release();
            throw new QuiverException("could not read block " + b.ref + " back from " + file + ": " + e.getMessage(), e);
        }
        readBacks.increment();
        boolean spill;
        ByteBuf out;
        synchronized (this) {
            if (b.dropped || closed) {
                buf.release();
                throw new MissingBlockException(b.ref);
            }
            b.data = buf;
            memoryUsed += b.size;
            blocks.get(b.ref); // most recently used now
            out = buf.retainedDuplicate();
            spill = needsSpillLocked();
        }
        if (spill) {
            disk.execute(this::spill);
        }
        return out;
    }

    /** Forgets a block and releases its memory and file. */
    public boolean drop(RefId ref) {
        Block b;
        synchronized (this) {
            b = blocks.remove(ref);
            if (b == null) {
                return false;
            }
            discardLocked(b);
        }
        decodes.remove(ref);
        deleteFile(b);
        return true;
    }

    private void discardLocked(Block b) {
        b.dropped = true;
        if (b.data != null) {
            memoryUsed -= b.size;
            b.data.release();
            b.data = null;
        }
        b.value = null;
        b.decoded = false;
    }

    private void deleteFile(Block b) {
        Path f;
        synchronized (this) {
            if (b.spilling) {
                return; // the spill deletes it when it sees the block dropped
            }
            f = b.file;
            b.file = null;
        }
        if (f != null) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                log.warn("could not delete spill file {}: {}", f, e.toString());
            }
        }
    }

    private boolean needsSpillLocked() {
        if (memoryUsed > limit && !spillScheduled && !closed) {
            spillScheduled = true;
            return true;
        }
        return false;
    }

    /** Writes least-recently-used blocks to disk until the memory in use fits the limit. */
    private void spill() {
        while (true) {
            Block victim = null;
            ByteBuf data;
            boolean write;
            synchronized (this) {
                if (closed || memoryUsed <= limit) {
                    spillScheduled = false;
                    return;
                }
                for (Block b : blocks.values()) {
                    if (b.data != null && !b.spilling) {
                        victim = b;
                        break;
                    }
                }
                if (victim == null) {
                    spillScheduled = false;
                    return;
                }
                victim.spilling = true;
                data = victim.data.retainedDuplicate();
                write = victim.file == null;
            }
            Path file = write ? null : victim.file;
            try {
                if (write) {
                    file = writeFile(victim.ref, data);
                }
            } catch (IOException | RuntimeException e) {
                log.warn("could not spill block {} ({} bytes) to {}: {}; keeping it in memory", victim.ref,
                        victim.size, dir, e.toString());
                synchronized (this) {
                    victim.spilling = false;
                    spillScheduled = false;
                }
                return;
            } finally {
                data.release();
            }
            boolean delete = false;
            synchronized (this) {
                victim.spilling = false;
                if (victim.dropped || closed) {
                    delete = true;
                } else {
                    victim.file = file;
                    if (victim.data != null) {
                        victim.data.release();
                        victim.data = null;
                        victim.value = null;
                        victim.decoded = false;
                        memoryUsed -= victim.size;
                        spills.increment();
                        spilledBytes.add(victim.size);
                    }
                }
            }
            if (delete) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    log.warn("could not delete spill file {}: {}", file, e.toString());
                }
            }
        }
    }

    private Path writeFile(RefId ref, ByteBuf data) throws IOException {
        Files.createDirectories(dir);
        long seq;
        synchronized (this) {
            seq = fileSeq++;
        }
        Path file = dir.resolve(ref + "-" + seq + ".blk");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (ByteBuffer bb : data.nioBuffers()) {
                while (bb.hasRemaining()) {
                    ch.write(bb);
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        return file;
    }

    /** Sum of the encoded sizes of the blocks held in memory. */
    public synchronized long memoryUsed() {
        return memoryUsed;
    }

    public long memoryLimit() {
        return limit;
    }

    /** Every block, in memory or spilled, with its size: the inventory a leader gets on registration. */
    public synchronized List<BlockInfo> inventory() {
        List<BlockInfo> out = new ArrayList<>(blocks.size());
        for (Block b : blocks.values()) {
            out.add(b.bucketRows == null ? new BlockInfo(b.ref, b.size) : new BlockInfo(b.ref, b.size, b.bucketRows));
        }
        return List.copyOf(out);
    }

    public synchronized int blockCount() {
        return blocks.size();
    }

    /** How many times the value of {@code ref} was decoded here since it was stored (0 once dropped). */
    public long decodes(RefId ref) {
        LongAdder n = decodes.get(ref);
        return n == null ? 0 : n.sum();
    }

    /** Decode counts of every block decoded so far. */
    public Map<RefId, Long> decodeCounts() {
        Map<RefId, Long> out = new LinkedHashMap<>();
        decodes.forEach((ref, n) -> out.put(ref, n.sum()));
        return Map.copyOf(out);
    }

    /** Bytes written to disk under memory pressure so far (a counter: read-backs do not lower it). */
    public long spilledBytes() {
        return spilledBytes.sum();
    }

    /** Bytes of blocks that live only on disk now (spilled and not read back). */
    public synchronized long diskBytes() {
        long n = 0;
        for (Block b : blocks.values()) {
            if (b.data == null && b.file != null) {
                n += b.size;
            }
        }
        return n;
    }

    /** Blocks written to disk so far. */
    public long spills() {
        return spills.sum();
    }

    /** Blocks read back from disk so far. */
    public long readBacks() {
        return readBacks.sum();
    }

    /** Releases every buffer and deletes every spill file and the spill directory. Idempotent. */
    @Override
    public void close() {
        List<Block> all;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            all = new ArrayList<>(blocks.values());
            blocks.clear();
            for (Block b : all) {
                discardLocked(b);
            }
        }
        for (Block b : all) {
            deleteFile(b);
        }
        try {
            if (Files.isDirectory(dir)) {
                try (var files = Files.list(dir)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        if (f.getFileName().toString().endsWith(".blk")) {
                            Files.deleteIfExists(f);
                        }
                    }
                }
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            log.warn("could not remove spill directory {}: {}", dir, e.toString());
        }
    }
}
