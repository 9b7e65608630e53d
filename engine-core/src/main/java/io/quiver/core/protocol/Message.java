package io.quiver.core.protocol;

import static io.quiver.core.protocol.Wire.*;

import io.netty.buffer.ByteBuf;
import io.quiver.RefId;
import java.util.List;

/**
 * Every message of the protocol: one sealed family of records, written and read by
 * {@link MessageCodec}. Each record writes its own fields ({@link #write}) and has a static
 * {@code read}; the type byte comes first in the frame.
 *
 * <pre>
 *  handshake      server -> peer  Challenge ; peer -> server Hello ; server -> peer Welcome | Refused
 *                 (both sides prove the secret: Hello and Welcome carry HMACs over both nonces)
 *  client->leader Submit, Release, ScatterRequest, InfoRequest, SubmitJob, Hold, HoldPins and Resume (on resume), Goodbye
 *  leader->client ScatterPlan, RequestFailed, RefsDone, InfoReply, JobReply
 *  exec->leader   Register, TaskResults, StoredBlocks, Status, Goodbye (on a clean stop)
 *  leader->exec   Launch, Drop, Replicate (all carry the leader's epoch)
 *  data plane     PutChunk (forwarded down a chain), Fetch -> FetchChunk* | FetchFailed
 *  client code    client -> exec CodeOffer ; exec -> client CodeWant ; client -> exec JarChunk* ;
 *                 exec -> client CodeReady ; client -> exec CodeRelease (on close)
 * </pre>
 */
public sealed interface Message {
    Type type();

    void write(ByteBuf out);

    /**
     * Every message type with its wire code, written here and nowhere else: records name their
     * constant, the decoder looks the code up.
     */
    enum Type {
        CHALLENGE(1, Challenge::read),
        HELLO(2, Hello::read),
        WELCOME(3, Welcome::read),
        REFUSED(4, Refused::read),
        SUBMIT(10, Submit::read),
        RELEASE(11, Release::read),
        SCATTER_REQUEST(12, ScatterRequest::read),
        INFO_REQUEST(13, InfoRequest::read),
        SUBMIT_JOB(14, SubmitJob::read),
        HOLD(15, Hold::read),
        GOODBYE(16, Goodbye::read),
        RESUME(17, Resume::read),
        HOLD_PINS(18, HoldPins::read),
        CANCEL(19, Cancel::read),
        REPLICATE_REQUEST(25, ReplicateRequest::read),
        ACK(26, Ack::read),
        SCATTER_PLAN(20, ScatterPlan::read),
        REQUEST_FAILED(21, RequestFailed::read),
        REFS_DONE(22, RefsDone::read),
        INFO_REPLY(23, InfoReply::read),
        JOB_REPLY(24, JobReply::read),
        REGISTER(30, Register::read),
        TASK_RESULTS(31, TaskResults::read),
        STORED_BLOCKS(32, StoredBlocks::read),
        STATUS(33, Status::read),
        LAUNCH(40, Launch::read),
        DROP(41, Drop::read),
        REPLICATE(42, Replicate::read),
        CANCEL_TASKS(43, CancelTasks::read),
        PUT_CHUNK(50, PutChunk::read),
        FETCH(51, Fetch::read),
        FETCH_CHUNK(52, FetchChunk::read),
        FETCH_FAILED(53, FetchFailed::read),
        CODE_OFFER(54, CodeOffer::read),
        CODE_WANT(55, CodeWant::read),
        JAR_CHUNK(56, JarChunk::read),
        CODE_READY(57, CodeReady::read),
        CODE_RELEASE(58, CodeRelease::read),
        SLICE_FETCH(59, SliceFetch::read),
        SHARE_PROBE(60, ShareProbe::read),
        SHARE_PROBE_REPLY(61, ShareProbeReply::read),
        PUT_SHARED(62, PutShared::read);

        private static final Type[] BY_CODE = new Type[128];

        static {
            for (Type t : values()) {
                if (BY_CODE[t.code] != null) {
                    throw new ExceptionInInitializerError("message code " + t.code + " used twice");
                }
                BY_CODE[t.code] = t;
            }
        }

        public final byte code;
        private final java.util.function.Function<ByteBuf, Message> reader;

        Type(int code, java.util.function.Function<ByteBuf, Message> reader) {
            this.code = (byte) code;
            this.reader = reader;
        }

        /** The type with this wire code; {@link ProtocolException} for a code nobody sends. */
        public static Type of(byte code) {
            Type t = code >= 0 ? BY_CODE[code] : null;
            if (t == null) {
                throw new ProtocolException("unknown message type " + code);
            }
            return t;
        }

        Message read(ByteBuf in) {
            return reader.apply(in);
        }
    }

    // ---------------------------------------------------------------- shared parts

    /** An executor's or server's address. */
    record Peer(String id, String host, int port) {
        static void put(ByteBuf out, Peer p) {
            writeString(out, p.id);
            writeString(out, p.host);
            out.writeInt(p.port);
        }

        static Peer get(ByteBuf in) {
            return new Peer(readString(in), readString(in), readInt(in));
        }
    }

    /** A serialized function; {@code block} set instead of {@code bytes} when it travels on the data plane. */
    record FnDef(long fnId, byte[] bytes, RefId block) {
        /** At least the bytes {@link #put} writes: what it adds to a frame. */
        public int sizeBound() {
            return 48 + bytes.length;
        }

        static void put(ByteBuf out, FnDef f) {
            out.writeLong(f.fnId);
            writeBytes(out, f.bytes);
            out.writeBoolean(f.block != null);
            if (f.block != null) {
                writeRef(out, f.block);
            }
        }

        static FnDef get(ByteBuf in) {
            long id = readLong(in);
            byte[] bytes = readBytes(in);
            RefId block = readBoolean(in) ? readRef(in) : null;
            return new FnDef(id, bytes, block);
        }
    }

    /**
     * A task argument: the value of a ref (with where it lives), or an inline encoded value. A
     * shuffle read ({@code bucket >= 0}) wants only bucket {@code bucket} of the map output {@code
     * ref}: the executor fetches that slice of the block, or cuts it from a local copy.
     */
    record Arg(RefId ref, byte[] value, List<Peer> locations, int bucket) {
        public Arg(RefId ref, byte[] value, List<Peer> locations) {
            this(ref, value, locations, -1);
        }

        public static Arg ref(RefId ref) {
            return new Arg(ref, null, List.of());
        }

        /** Bucket {@code bucket} of the shuffle map output {@code ref}. */
        public static Arg slice(RefId ref, int bucket) {
            if (bucket < 0) {
                throw new IllegalArgumentException("negative shuffle bucket " + bucket);
            }
            return new Arg(ref, null, List.of(), bucket);
        }

        public static Arg value(byte[] encoded) {
            return new Arg(null, encoded, List.of());
        }

        public boolean isRef() {
            return ref != null;
        }

        /** Whether it wants one bucket of a map output, not the whole block. */
        public boolean isSlice() {
            return ref != null && bucket >= 0;
        }

        public Arg withLocations(List<Peer> where) {
            return new Arg(ref, value, where, bucket);
        }

        /** The same ref read whole, not as a slice. */
        public Arg whole() {
            return new Arg(ref, value, locations, -1);
        }

        static void put(ByteBuf out, Arg a) {
            if (a.ref != null && a.bucket >= 0) {
                out.writeByte(2);
                writeRef(out, a.ref);
                out.writeInt(a.bucket);
                writeList(out, a.locations, Peer::put);
            } else if (a.ref != null) {
                out.writeByte(0);
                writeRef(out, a.ref);
                writeList(out, a.locations, Peer::put);
            } else {
                out.writeByte(1);
                writeBytes(out, a.value);
            }
        }

        static Arg get(ByteBuf in) {
            byte kind = readByte(in);
            return switch (kind) {
                case 0 -> new Arg(readRef(in), null, readList(in, 12, Peer::get));
                case 1 -> new Arg(null, readBytes(in), List.of());
                case 2 -> {
                    RefId ref = readRef(in);
                    int bucket = readInt(in);
                    if (bucket < 0) {
                        throw new ProtocolException("negative shuffle bucket " + bucket + " in a task argument");
                    }
                    yield new Arg(ref, null, readList(in, 12, Peer::get), bucket);
                }
                default -> throw new ProtocolException("unknown argument kind " + kind);
            };
        }
    }

    /** A task as the client submits it: one output ref, a function, arguments. */
    record TaskSpec(RefId out, long fnId, List<Arg> args, TaskOptions options) {
        /** At least the bytes {@link #put} writes: what it adds to a frame. */
        public long sizeBound() {
            long n = 64;
            for (Arg a : args) {
                n += a.value != null ? 16 + a.value.length : 48 + 64L * a.locations.size();
            }
            if (options != null) {
                for (String e : options.on()) {
                    n += 8 + 3L * e.length();
                }
            }
            return n;
        }

        /** A task with the default options. */
        public TaskSpec(RefId out, long fnId, List<Arg> args) {
            this(out, fnId, args, TaskOptions.NONE);
        }

        static void put(ByteBuf out, TaskSpec t) {
            writeRef(out, t.out);
            out.writeLong(t.fnId);
            writeList(out, t.args, Arg::put);
            TaskOptions.put(out, t.options);
        }

        static TaskSpec get(ByteBuf in) {
            return new TaskSpec(readRef(in), readLong(in), readList(in, 5, Arg::get), TaskOptions.get(in));
        }
    }

    /**
     * {@code io.quiver.Submit} as it travels with each task: retries when user code throws, a
     * priority among ready tasks, executors it must (or, with {@code allowOthers}, should) run on.
     * The defaults cost one byte.
     */
    record TaskOptions(int retries, int priority, List<String> on, boolean allowOthers) {
        public static final TaskOptions NONE = new TaskOptions(0, 0, List.of(), false);

        public TaskOptions {
            on = List.copyOf(on);
        }

        static void put(ByteBuf out, TaskOptions o) {
            if (o == null || o.equals(NONE)) {
                out.writeByte(0);
                return;
            }
            out.writeByte(1);
            out.writeInt(o.retries);
            out.writeInt(o.priority);
            writeList(out, o.on, Wire::writeString);
            out.writeBoolean(o.allowOthers);
        }

        static TaskOptions get(ByteBuf in) {
            byte flag = readByte(in);
            if (flag == 0) {
                return NONE;
            }
            if (flag != 1) {
                throw new ProtocolException("unknown task options flag " + flag);
            }
            int retries = readInt(in);
            if (retries < 0) {
                throw new ProtocolException("negative retries " + retries + " in task options");
            }
            return new TaskOptions(retries, readInt(in), readList(in, 4, Wire::readString), readBoolean(in));
        }
    }

    /** A task as the leader launches it: its output refs (usually one), a function, arguments. */
    record TaskLaunch(List<RefId> outs, long fnId, List<Arg> args) {
        static void put(ByteBuf out, TaskLaunch t) {
            writeList(out, t.outs, Wire::writeRef);
            out.writeLong(t.fnId);
            writeList(out, t.args, Arg::put);
        }

        static TaskLaunch get(ByteBuf in) {
            return new TaskLaunch(readList(in, 16, Wire::readRef), readLong(in), readList(in, 5, Arg::get));
        }
    }

    /**
     * What user code threw, as text: the client rebuilds a TaskFailedException from it.
     * {@code missing} names the input a {@link #MISSING} failure did not find (null otherwise).
     */
    record Failure(String kind, String type, String message, String stack, String executorId, int attempts,
            RefId missing) {
        /** User code threw. */
        public static final String TASK = "task";
        /** Every copy of an input is gone. */
        public static final String LOST = "lost";
        /**
         * An input could not be fetched from any location the leader gave (its holder is probably
         * dying): the leader runs the task again once the input is back, rather than fail it.
         */
        public static final String FETCH = "fetch";
        /**
         * An input the leader placed on the executor was not in its store when the task ran (it
         * was dropped, or its producer there failed to make it): the leader forgets that copy and
         * runs the task again from another copy or from lineage (Spark's FetchFailed), rather
         * than fail it.
         */
        public static final String MISSING = "missing";
        /** The cluster changed under the request (leader change). */
        public static final String UNAVAILABLE = "unavailable";
        /** The client cancelled the task ({@code Ref.cancel()}), or a task it depends on. */
        public static final String CANCELLED = "cancelled";

        /** A failure that names no missing input. */
        public Failure(String kind, String type, String message, String stack, String executorId, int attempts) {
            this(kind, type, message, stack, executorId, attempts, null);
        }

        /** Whether the task did not fail by itself: an input was not where it ran, so it runs again. */
        public boolean inputAbsent() {
            return FETCH.equals(kind) || MISSING.equals(kind);
        }

        static void put(ByteBuf out, Failure f) {
            writeString(out, f.kind);
            writeString(out, f.type);
            writeString(out, f.message);
            writeString(out, f.stack);
            writeString(out, f.executorId);
            out.writeInt(f.attempts);
            out.writeBoolean(f.missing != null);
            if (f.missing != null) {
                writeRef(out, f.missing);
            }
        }

        static Failure get(ByteBuf in) {
            return new Failure(readString(in), readString(in), readString(in), readString(in), readString(in), readInt(in),
                    readBoolean(in) ? readRef(in) : null);
        }
    }

    /**
     * A block and its size in bytes; for a shuffle map output also its rows per bucket ({@code
     * bucketRows}, null otherwise), sent sparse: the bucket count, then (bucket, rows) for the
     * non-empty buckets only, so a map task that wrote 3 of 2,000 buckets reports 3 pairs.
     */
    record BlockInfo(RefId ref, long size, int[] bucketRows) {
        /** The most buckets a summary may name: a bad peer cannot make the reader allocate more. */
        static final int MAX_BUCKETS = 1 << 22;

        /** A block that is not a shuffle map output. */
        public BlockInfo(RefId ref, long size) {
            this(ref, size, null);
        }

        static void put(ByteBuf out, BlockInfo b) {
            writeRef(out, b.ref);
            out.writeLong(b.size);
            int[] rows = b.bucketRows;
            if (rows == null) {
                out.writeInt(-1);
                return;
            }
            out.writeInt(rows.length);
            int countAt = out.writerIndex();
            out.writeInt(0);
            int nonEmpty = 0;
            for (int i = 0; i < rows.length; i++) {
                if (rows[i] != 0) {
                    out.writeInt(i);
                    out.writeInt(rows[i]);
                    nonEmpty++;
                }
            }
            out.setInt(countAt, nonEmpty);
        }

        static BlockInfo get(ByteBuf in) {
            RefId ref = readRef(in);
            long size = readLong(in);
            int buckets = readInt(in);
            if (buckets == -1) {
                return new BlockInfo(ref, size, null);
            }
            if (buckets < 0 || buckets > MAX_BUCKETS) {
                throw new ProtocolException("bucket summary of " + buckets + " buckets (at most " + MAX_BUCKETS + ")");
            }
            int nonEmpty = readInt(in);
            if (nonEmpty < 0 || nonEmpty > buckets || (long) nonEmpty * 8 > in.readableBytes()) {
                throw new ProtocolException("bucket summary with " + nonEmpty + " non-empty of " + buckets
                        + " buckets does not fit the " + in.readableBytes() + " bytes left in the frame");
            }
            int[] rows = new int[buckets];
            for (int i = 0; i < nonEmpty; i++) {
                int b = in.readInt();
                int n = in.readInt();
                if (b < 0 || b >= buckets || n <= 0) {
                    throw new ProtocolException("bucket summary entry (" + b + ", " + n + ") outside " + buckets
                            + " buckets or not positive");
                }
                rows[b] = n;
            }
            return new BlockInfo(ref, size, rows);
        }
    }

    // ---------------------------------------------------------------- handshake

    record Challenge(byte[] nonce, String serverId, long epoch) implements Message {
        public Type type() { return Type.CHALLENGE; }

        public void write(ByteBuf out) {
            writeBytes(out, nonce);
            writeString(out, serverId);
            out.writeLong(epoch);
        }

        static Challenge read(ByteBuf in) {
            return new Challenge(readBytes(in), readString(in), readLong(in));
        }
    }

    /** Roles a peer can claim in {@link Hello}. */
    enum Role {
        CLIENT(0), EXECUTOR(1), COORDINATOR(2);

        /** The wire code: explicit, so reordering the constants can never change the protocol. */
        public final byte code;

        Role(int code) {
            this.code = (byte) code;
        }

        static Role of(int code) {
            for (Role r : values()) {
                if (r.code == code) {
                    return r;
                }
            }
            throw new ProtocolException("unknown role " + code + " in handshake");
        }
    }

    /**
     * The peer's answer to a {@link Challenge}: who it is, its own fresh {@code nonce}, and
     * {@code mac}, which proves the cluster secret over both nonces and both identities
     * ({@code Secret.helloMac}). Empty mac and nonce without a secret.
     */
    record Hello(Role role, String id, long epoch, byte[] nonce, byte[] mac) implements Message {
        public Type type() { return Type.HELLO; }

        public void write(ByteBuf out) {
            out.writeByte(role.code);
            writeString(out, id);
            out.writeLong(epoch);
            writeBytes(out, nonce);
            writeBytes(out, mac);
        }

        static Hello read(ByteBuf in) {
            return new Hello(Role.of(readByte(in)), readString(in), readLong(in), readBytes(in), readBytes(in));
        }
    }

    /**
     * Handshake accepted; {@code session} is unique in the cluster (clients mint ref ids under it).
     * {@code mac} proves that the server, too, holds the cluster secret: it covers both nonces, both
     * identities, the epoch and the session ({@code Secret.welcomeMac}), so a peer refuses a server
     * that cannot prove it, and a recorded welcome is worthless on another connection.
     */
    record Welcome(String serverId, long epoch, long session, byte[] mac) implements Message {
        public Type type() { return Type.WELCOME; }

        public void write(ByteBuf out) {
            writeString(out, serverId);
            out.writeLong(epoch);
            out.writeLong(session);
            writeBytes(out, mac);
        }

        static Welcome read(ByteBuf in) {
            return new Welcome(readString(in), readLong(in), readLong(in), readBytes(in));
        }
    }

    record Refused(String reason) implements Message {
        public Type type() { return Type.REFUSED; }

        public void write(ByteBuf out) {
            writeString(out, reason);
        }

        static Refused read(ByteBuf in) {
            return new Refused(readString(in));
        }
    }

    // ---------------------------------------------------------------- client -> leader

    /** New functions and tasks, batched: a loop of submits becomes a few of these. */
    record Submit(List<FnDef> fns, List<TaskSpec> tasks) implements Message {
        public Type type() { return Type.SUBMIT; }

        public void write(ByteBuf out) {
            writeList(out, fns, FnDef::put);
            writeList(out, tasks, TaskSpec::put);
        }

        static Submit read(ByteBuf in) {
            return new Submit(readList(in, 13, FnDef::get), readList(in, 28, TaskSpec::get));
        }
    }

    record Release(List<RefId> refs) implements Message {
        public Type type() { return Type.RELEASE; }

        public void write(ByteBuf out) {
            writeList(out, refs, Wire::writeRef);
        }

        static Release read(ByteBuf in) {
            return new Release(readList(in, 16, Wire::readRef));
        }
    }

    /** The leader took request {@code reqId} (one that has no other answer, such as a replicate). */
    record Ack(long reqId) implements Message {
        public Type type() { return Type.ACK; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
        }

        static Ack read(ByteBuf in) {
            return new Ack(readLong(in));
        }
    }

    /** Cancels the client's tasks that have not finished (and, through them, their dependents). */
    record Cancel(List<RefId> refs) implements Message {
        public Type type() { return Type.CANCEL; }

        public void write(ByteBuf out) {
            writeList(out, refs, Wire::writeRef);
        }

        static Cancel read(ByteBuf in) {
            return new Cancel(readList(in, 16, Wire::readRef));
        }
    }

    /**
     * Asks for {@code copies} copies of a finished value in all ({@code Integer.MAX_VALUE}: on
     * every executor, joiners included, as a broadcast). The leader answers with RefsDone once
     * they are stored, or RequestFailed.
     */
    record ReplicateRequest(long reqId, RefId ref, int copies) implements Message {
        public Type type() { return Type.REPLICATE_REQUEST; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeRef(out, ref);
            out.writeInt(copies);
        }

        static ReplicateRequest read(ByteBuf in) {
            ReplicateRequest r = new ReplicateRequest(readLong(in), readRef(in), readInt(in));
            if (r.copies < 1) {
                throw new ProtocolException("replicate asks for " + r.copies + " copies; at least 1");
            }
            return r;
        }
    }

    /** Asks where to put a value of {@code size} bytes; the leader reserves memory or refuses. */
    record ScatterRequest(long reqId, RefId ref, long size, byte mode, int replicas, List<String> on)
            implements Message {
        /** Wire codes of {@link io.quiver.Scatter.Mode}, written here once, never an ordinal. */
        public static final byte SINGLE = 0;
        public static final byte REPLICAS = 1;
        public static final byte BROADCAST = 2;
        public static final byte ON = 3;

        public Type type() { return Type.SCATTER_REQUEST; }

        /** The wire code of a scatter mode. */
        public static byte code(io.quiver.Scatter.Mode mode) {
            return switch (mode) {
                case SINGLE -> SINGLE;
                case REPLICAS -> REPLICAS;
                case BROADCAST -> BROADCAST;
                case ON -> ON;
            };
        }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeRef(out, ref);
            out.writeLong(size);
            out.writeByte(mode);
            out.writeInt(replicas);
            writeList(out, on, Wire::writeString);
        }

        static ScatterRequest read(ByteBuf in) {
            long reqId = readLong(in);
            RefId ref = readRef(in);
            long size = readLong(in);
            byte mode = readByte(in);
            if (mode < SINGLE || mode > ON) {
                throw new ProtocolException("unknown scatter mode " + mode);
            }
            return new ScatterRequest(reqId, ref, size, mode, readInt(in), readList(in, 4, Wire::readString));
        }
    }

    record InfoRequest(long reqId) implements Message {
        public Type type() { return Type.INFO_REQUEST; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
        }

        static InfoRequest read(ByteBuf in) {
            return new InfoRequest(readLong(in));
        }
    }

    /**
     * A dataset job: the encoded logical plan (its action included); {@code explainOnly} plans without
     * running. {@code job} is minted by the client: every ref of the job derives from it
     * ({@link JobRefs}), so a job sent again to a new leader finds the outputs its stages already wrote.
     */
    record SubmitJob(long reqId, RefId job, byte[] plan, boolean explainOnly) implements Message {
        public Type type() { return Type.SUBMIT_JOB; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeRef(out, job);
            writeBytes(out, plan);
            out.writeBoolean(explainOnly);
        }

        static SubmitJob read(ByteBuf in) {
            return new SubmitJob(readLong(in), readRef(in), readBytes(in), readBoolean(in));
        }
    }

    /**
     * A ref the client holds that no task produces: a scattered value or a persisted partition. A
     * client sends these to a new leader (after a leader change or a reconnect) before re-sending its
     * tasks, so the leader can adopt the copies executors still hold. {@code pendingTargets}: the
     * executors a scatter still in flight streams to (empty once stored).
     */
    record HeldRef(RefId ref, byte kind, long size, List<String> pendingTargets) {
        /** At least the bytes {@link #put} writes. */
        public long sizeBound() {
            long n = 48;
            for (String t : pendingTargets) {
                n += 8 + 3L * t.length();
            }
            return n;
        }

        public static final byte SCATTERED = 1;
        public static final byte BROADCAST = 2;
        public static final byte PERSISTED = 3;

        static void put(ByteBuf out, HeldRef h) {
            writeRef(out, h.ref);
            out.writeByte(h.kind);
            out.writeLong(h.size);
            writeList(out, h.pendingTargets, Wire::writeString);
        }

        static HeldRef get(ByteBuf in) {
            RefId ref = readRef(in);
            byte kind = readByte(in);
            if (kind < SCATTERED || kind > PERSISTED) {
                throw new ProtocolException("unknown held-ref kind " + kind);
            }
            return new HeldRef(ref, kind, readLong(in), readList(in, 4, Wire::readString));
        }
    }

    /** Refs without lineage that a resuming client holds (see {@link HeldRef}). */
    record Hold(List<HeldRef> refs) implements Message {
        public Type type() { return Type.HOLD; }

        public void write(ByteBuf out) {
            writeList(out, refs, HeldRef::put);
        }

        static Hold read(ByteBuf in) {
            return new Hold(readList(in, 29, HeldRef::get));
        }
    }

    /**
     * Sent on resume right after {@link Hold}: the held refs that were scattered {@code Scatter.on},
     * each with the executors it names, so a new leader keeps their readers there as the first did.
     */
    record HoldPins(List<Pin> pins) implements Message {
        /** A held ref and the executor ids of its {@code Scatter.on}. */
        public record Pin(RefId ref, List<String> on) {
            static void put(ByteBuf out, Pin p) {
                writeRef(out, p.ref);
                writeList(out, p.on, Wire::writeString);
            }

            static Pin get(ByteBuf in) {
                return new Pin(readRef(in), readList(in, 4, Wire::readString));
            }
        }

        public Type type() { return Type.HOLD_PINS; }

        public void write(ByteBuf out) {
            writeList(out, pins, Pin::put);
        }

        static HoldPins read(ByteBuf in) {
            return new HoldPins(readList(in, 20, Pin::get));
        }
    }

    /**
     * The sender closes on purpose: a client (release all it holds now, not after the reconnect
     * grace), or an executor (it leaves: not a lost executor).
     */
    record Goodbye() implements Message {
        public Type type() { return Type.GOODBYE; }

        public void write(ByteBuf out) {}

        static Goodbye read(ByteBuf in) {
            return new Goodbye();
        }
    }

    /**
     * Brackets what a client sends on a new connection ({@code end} false first, true last). Tasks
     * and jobs it sends in between are not placed before the end: only then does the leader know
     * which of them the client re-sent as lineage only (released, read by refs it still holds), so
     * that what nobody needs now is kept to be recomputed if needed, not run at once.
     */
    record Resume(boolean end) implements Message {
        public Type type() { return Type.RESUME; }

        public void write(ByteBuf out) {
            out.writeBoolean(end);
        }

        static Resume read(ByteBuf in) {
            return new Resume(readBoolean(in));
        }
    }

    // ---------------------------------------------------------------- leader -> client

    record ScatterPlan(long reqId, RefId ref, List<Peer> targets) implements Message {
        public Type type() { return Type.SCATTER_PLAN; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeRef(out, ref);
            writeList(out, targets, Peer::put);
        }

        static ScatterPlan read(ByteBuf in) {
            return new ScatterPlan(readLong(in), readRef(in), readList(in, 12, Peer::get));
        }
    }

    /** A request the leader refused; {@code kind} picks the exception the client throws. */
    record RequestFailed(long reqId, byte kind, String message, String executorId, long free, long requested)
            implements Message {
        public static final byte INSUFFICIENT_MEMORY = 1;
        public static final byte UNAVAILABLE = 2;
        public static final byte INVALID = 3;

        public Type type() { return Type.REQUEST_FAILED; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            out.writeByte(kind);
            writeString(out, message);
            writeString(out, executorId);
            out.writeLong(free);
            out.writeLong(requested);
        }

        static RequestFailed read(ByteBuf in) {
            return new RequestFailed(readLong(in), readByte(in), readString(in), readString(in), readLong(in),
                    readLong(in));
        }
    }

    /** One finished ref: its value is stored at {@code locations}, maybe also inline; or it failed. */
    record RefDone(RefId ref, long size, List<String> locations, byte[] inline, Failure failure) {
        /** At least the bytes {@link #put} writes. */
        public long sizeBound() {
            long n = 64 + (inline == null ? 0 : inline.length);
            for (String l : locations) {
                n += 8 + 3L * l.length();
            }
            if (failure != null) {
                n += 96 + 3L * (length(failure.kind()) + length(failure.type()) + length(failure.message())
                        + length(failure.stack()) + length(failure.executorId()));
            }
            return n;
        }

        private static long length(String s) {
            return s == null ? 0 : s.length();
        }

        static void put(ByteBuf out, RefDone d) {
            writeRef(out, d.ref);
            out.writeLong(d.size);
            writeList(out, d.locations, Wire::writeString);
            writeBytes(out, d.inline);
            out.writeBoolean(d.failure != null);
            if (d.failure != null) {
                Failure.put(out, d.failure);
            }
        }

        static RefDone get(ByteBuf in) {
            RefId ref = readRef(in);
            long size = readLong(in);
            List<String> locations = readList(in, 4, Wire::readString);
            byte[] inline = readBytes(in);
            Failure failure = readBoolean(in) ? Failure.get(in) : null;
            return new RefDone(ref, size, locations, inline, failure);
        }
    }

    record RefsDone(List<RefDone> refs) implements Message {
        public Type type() { return Type.REFS_DONE; }

        public void write(ByteBuf out) {
            writeList(out, refs, RefDone::put);
        }

        static RefsDone read(ByteBuf in) {
            return new RefsDone(readList(in, 37, RefDone::get));
        }
    }

    record ExecInfo(String id, String host, int port, int slots, long memoryUsed, long memoryLimit) {
        static void put(ByteBuf out, ExecInfo e) {
            writeString(out, e.id);
            writeString(out, e.host);
            out.writeInt(e.port);
            out.writeInt(e.slots);
            out.writeLong(e.memoryUsed);
            out.writeLong(e.memoryLimit);
        }

        static ExecInfo get(ByteBuf in) {
            return new ExecInfo(readString(in), readString(in), readInt(in), readInt(in), readLong(in), readLong(in));
        }
    }

    record InfoReply(long reqId, String leaderId, long epoch, List<ExecInfo> executors) implements Message {
        public Type type() { return Type.INFO_REPLY; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeString(out, leaderId);
            out.writeLong(epoch);
            writeList(out, executors, ExecInfo::put);
        }

        static InfoReply read(ByteBuf in) {
            return new InfoReply(readLong(in), readString(in), readLong(in), readList(in, 32, ExecInfo::get));
        }
    }

    /**
     * A planned job: the refs of the final stage's outputs in partition order, the refs of persisted
     * partitions with the logical node each belongs to ({@code persistedNodes}, same length), and the
     * plan as text. The client owns every ref named here and gets them in RefsDone.
     */
    record JobReply(long reqId, List<RefId> results, List<RefId> persisted, List<Integer> persistedNodes,
                    String explain) implements Message {
        public Type type() { return Type.JOB_REPLY; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeList(out, results, Wire::writeRef);
            writeList(out, persisted, Wire::writeRef);
            writeList(out, persistedNodes, ByteBuf::writeInt);
            writeString(out, explain);
        }

        static JobReply read(ByteBuf in) {
            return new JobReply(readLong(in), readList(in, 16, Wire::readRef), readList(in, 16, Wire::readRef),
                    readList(in, 4, Wire::readInt), readString(in));
        }
    }

    // ---------------------------------------------------------------- executor -> leader

    /**
     * An executor announces itself with its capacity and what it has: every block in its store
     * ({@code inventory}), the tasks it was given and has not finished ({@code active}, by task id;
     * they keep running through a leader change), and the failures it still remembers
     * ({@code failed}: tasks that failed here and whose outputs were not dropped). A new leader adopts
     * all three, so nothing that finished runs again.
     */
    record Register(String host, int port, int slots, long memoryLimit, long memoryUsed, List<BlockInfo> inventory,
                    List<RefId> active, List<TaskResult> failed)
            implements Message {
        public Type type() { return Type.REGISTER; }

        public void write(ByteBuf out) {
            writeString(out, host);
            out.writeInt(port);
            out.writeInt(slots);
            out.writeLong(memoryLimit);
            out.writeLong(memoryUsed);
            writeList(out, inventory, BlockInfo::put);
            writeList(out, active, Wire::writeRef);
            writeList(out, failed, TaskResult::put);
        }

        static Register read(ByteBuf in) {
            return new Register(readString(in), readInt(in), readInt(in), readLong(in), readLong(in),
                    readList(in, 24, BlockInfo::get), readList(in, 16, Wire::readRef), readList(in, 33, TaskResult::get));
        }
    }

    /** One finished task: outputs and sizes, small single output inline, or the failure. */
    record TaskResult(RefId task, long nanos, List<BlockInfo> outputs, byte[] inline, Failure failure) {
        static void put(ByteBuf out, TaskResult r) {
            writeRef(out, r.task);
            out.writeLong(r.nanos);
            writeList(out, r.outputs, BlockInfo::put);
            writeBytes(out, r.inline);
            out.writeBoolean(r.failure != null);
            if (r.failure != null) {
                Failure.put(out, r.failure);
            }
        }

        static TaskResult get(ByteBuf in) {
            RefId task = readRef(in);
            long nanos = readLong(in);
            List<BlockInfo> outputs = readList(in, 24, BlockInfo::get);
            byte[] inline = readBytes(in);
            Failure failure = readBoolean(in) ? Failure.get(in) : null;
            return new TaskResult(task, nanos, outputs, inline, failure);
        }
    }

    record TaskResults(List<TaskResult> results, long memoryUsed) implements Message {
        public Type type() { return Type.TASK_RESULTS; }

        public void write(ByteBuf out) {
            writeList(out, results, TaskResult::put);
            out.writeLong(memoryUsed);
        }

        static TaskResults read(ByteBuf in) {
            return new TaskResults(readList(in, 33, TaskResult::get), readLong(in));
        }
    }

    record BlockFailure(RefId ref, String reason) {
        static void put(ByteBuf out, BlockFailure f) {
            writeRef(out, f.ref);
            writeString(out, f.reason);
        }

        static BlockFailure get(ByteBuf in) {
            return new BlockFailure(readRef(in), readString(in));
        }
    }

    /** Blocks that arrived by scatter (verified) or failed to. */
    record StoredBlocks(List<BlockInfo> stored, List<BlockFailure> failed, long memoryUsed) implements Message {
        public Type type() { return Type.STORED_BLOCKS; }

        public void write(ByteBuf out) {
            writeList(out, stored, BlockInfo::put);
            writeList(out, failed, BlockFailure::put);
            out.writeLong(memoryUsed);
        }

        static StoredBlocks read(ByteBuf in) {
            return new StoredBlocks(readList(in, 24, BlockInfo::get), readList(in, 20, BlockFailure::get),
                    readLong(in));
        }
    }

    record Status(long memoryUsed, int queued) implements Message {
        public Type type() { return Type.STATUS; }

        public void write(ByteBuf out) {
            out.writeLong(memoryUsed);
            out.writeInt(queued);
        }

        static Status read(ByteBuf in) {
            return new Status(readLong(in), readInt(in));
        }
    }

    // ---------------------------------------------------------------- leader -> executor

    /** Tasks to run, with the functions they need that this executor has not seen yet. */
    record Launch(long epoch, List<FnDef> fns, List<TaskLaunch> tasks) implements Message {
        public Type type() { return Type.LAUNCH; }

        public void write(ByteBuf out) {
            out.writeLong(epoch);
            writeList(out, fns, FnDef::put);
            writeList(out, tasks, TaskLaunch::put);
        }

        static Launch read(ByteBuf in) {
            return new Launch(readLong(in), readList(in, 13, FnDef::get), readList(in, 16, TaskLaunch::get));
        }
    }

    /** Blocks (and functions, by the ids of their tasks) the executor may forget. */
    record Drop(long epoch, List<RefId> refs, List<Long> fnIds) implements Message {
        public Type type() { return Type.DROP; }

        public void write(ByteBuf out) {
            out.writeLong(epoch);
            writeList(out, refs, Wire::writeRef);
            writeList(out, fnIds, ByteBuf::writeLong);
        }

        static Drop read(ByteBuf in) {
            return new Drop(readLong(in), readList(in, 16, Wire::readRef), readList(in, 8, Wire::readLong));
        }
    }

    /** Tasks the executor stops: queued ones are forgotten, running ones interrupted; none is reported. */
    record CancelTasks(long epoch, List<RefId> tasks) implements Message {
        public Type type() { return Type.CANCEL_TASKS; }

        public void write(ByteBuf out) {
            out.writeLong(epoch);
            writeList(out, tasks, Wire::writeRef);
        }

        static CancelTasks read(ByteBuf in) {
            return new CancelTasks(readLong(in), readList(in, 16, Wire::readRef));
        }
    }

    /**
     * Blocks the executor should copy into its store from a peer ({@code from}, tried in turn), as
     * a task input is fetched: a broadcast reaching an executor that joined after it was scattered.
     * The executor reports each copy as it would a scatter's ({@link StoredBlocks}), or its failure.
     */
    record Replicate(long epoch, List<Copy> copies) implements Message {
        /** One block to copy: its id, its size in bytes, and where it can be fetched. */
        public record Copy(RefId ref, long size, List<Peer> from) {
            static void put(ByteBuf out, Copy c) {
                writeRef(out, c.ref);
                out.writeLong(c.size);
                writeList(out, c.from, Peer::put);
            }

            static Copy get(ByteBuf in) {
                return new Copy(readRef(in), readLong(in), readList(in, 12, Peer::get));
            }
        }

        public Type type() { return Type.REPLICATE; }

        public void write(ByteBuf out) {
            out.writeLong(epoch);
            writeList(out, copies, Copy::put);
        }

        static Replicate read(ByteBuf in) {
            return new Replicate(readLong(in), readList(in, 28, Copy::get));
        }
    }

    // ---------------------------------------------------------------- data plane

    /** Marker for messages that own a slice of the frame; whoever handles one releases {@code data}. */
    sealed interface DataMessage extends Message permits PutChunk, FetchChunk, JarChunk {
        ByteBuf data();
    }

    /**
     * A chunk of a block being stored. {@code forward}: where the receiver passes it on (a pipelined
     * chain). {@code checksum} is the CRC32C of the whole block, set on the last chunk.
     */
    record PutChunk(RefId ref, long total, long offset, long checksum, List<Peer> forward, ByteBuf data)
            implements DataMessage {
        public Type type() { return Type.PUT_CHUNK; }

        public void write(ByteBuf out) {
            writeRef(out, ref);
            out.writeLong(total);
            out.writeLong(offset);
            out.writeLong(checksum);
            writeList(out, forward, Peer::put);
        }

        static PutChunk read(ByteBuf in) {
            RefId ref = readRef(in);
            long total = readLong(in);
            long offset = readLong(in);
            long checksum = readLong(in);
            List<Peer> forward = readList(in, 12, Peer::get);
            if (total < 0 || offset < 0 || offset + in.readableBytes() > total) {
                throw new ProtocolException("chunk [" + offset + ", +" + in.readableBytes() + ") outside block of "
                        + total + " bytes");
            }
            return new PutChunk(ref, total, offset, checksum, forward, in.readRetainedSlice(in.readableBytes()));
        }
    }

    record Fetch(long reqId, RefId ref) implements Message {
        public Type type() { return Type.FETCH; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeRef(out, ref);
        }

        static Fetch read(ByteBuf in) {
            return new Fetch(readLong(in), readRef(in));
        }
    }

    /**
     * One request for many buckets of map outputs held by the receiver (Spark's batched shuffle
     * fetch). Answered, under {@code reqId}, as one stream of {@link FetchChunk}s: each slice in
     * request order as a {@link io.quiver.core.codec.ShuffleBlocks} slice entry; or by {@link
     * FetchFailed} naming what the receiver lacks or refuses.
     */
    record SliceFetch(long reqId, List<Slice> slices) implements Message {
        /** Most slices one request may ask for. */
        public static final int MAX_SLICES = 1 << 16;

        /** Bucket {@code bucket} of map output {@code ref}. */
        public record Slice(RefId ref, int bucket) {
            static void put(ByteBuf out, Slice s) {
                writeRef(out, s.ref);
                out.writeInt(s.bucket);
            }

            static Slice get(ByteBuf in) {
                return new Slice(readRef(in), readInt(in));
            }
        }

        public Type type() { return Type.SLICE_FETCH; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeList(out, slices, Slice::put);
        }

        static SliceFetch read(ByteBuf in) {
            return new SliceFetch(readLong(in), readList(in, 20, Slice::get));
        }
    }

    record FetchChunk(long reqId, long total, long offset, ByteBuf data) implements DataMessage {
        public Type type() { return Type.FETCH_CHUNK; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            out.writeLong(total);
            out.writeLong(offset);
        }

        static FetchChunk read(ByteBuf in) {
            long reqId = readLong(in);
            long total = readLong(in);
            long offset = readLong(in);
            if (total < 0 || offset < 0 || offset + in.readableBytes() > total) {
                throw new ProtocolException("chunk [" + offset + ", +" + in.readableBytes() + ") outside block of "
                        + total + " bytes");
            }
            return new FetchChunk(reqId, total, offset, in.readRetainedSlice(in.readableBytes()));
        }
    }

    record FetchFailed(long reqId, String reason) implements Message {
        public Type type() { return Type.FETCH_FAILED; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeString(out, reason);
        }

        static FetchFailed read(ByteBuf in) {
            return new FetchFailed(readLong(in), readString(in));
        }
    }

    /**
     * Asks an executor whether it shares this host's memory with the sender: {@code path} names a
     * file in the host's shared directory ({@code HostShare}) that holds {@code nonce}. Answered by
     * {@link ShareProbeReply} under {@code reqId}.
     */
    record ShareProbe(long reqId, String path, byte[] nonce) implements Message {
        public Type type() { return Type.SHARE_PROBE; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            writeString(out, path);
            writeBytes(out, nonce);
        }

        static ShareProbe read(ByteBuf in) {
            return new ShareProbe(readLong(in), readString(in), readBytes(in));
        }
    }

    /** {@code sameHost}: the receiver read the probe's nonce from its file; otherwise {@code reason} says why not. */
    record ShareProbeReply(long reqId, boolean sameHost, String reason) implements Message {
        public Type type() { return Type.SHARE_PROBE_REPLY; }

        public void write(ByteBuf out) {
            out.writeLong(reqId);
            out.writeBoolean(sameHost);
            writeString(out, reason);
        }

        static ShareProbeReply read(ByteBuf in) {
            return new ShareProbeReply(readLong(in), readBoolean(in), readString(in));
        }
    }

    /**
     * A block the sender wrote once into the host's shared memory, in place of its chunks: the
     * receiver maps {@code path} copy-on-write, verifies the CRC32C of its {@code total} bytes
     * against {@code checksum}, and reports it stored (or failed) like a received block.
     */
    record PutShared(RefId ref, String path, long total, long checksum) implements Message {
        public Type type() { return Type.PUT_SHARED; }

        public void write(ByteBuf out) {
            writeRef(out, ref);
            writeString(out, path);
            out.writeLong(total);
            out.writeLong(checksum);
        }

        static PutShared read(ByteBuf in) {
            RefId ref = readRef(in);
            String path = readString(in);
            long total = readLong(in);
            long checksum = readLong(in);
            if (total < 0) {
                throw new ProtocolException("shared block of " + total + " bytes");
            }
            return new PutShared(ref, path, total, checksum);
        }
    }

    // ---------------------------------------------------------------- client code (DESIGN.md, "User code")

    /** One jar of a client's code: the SHA-256 of its bytes (64 lower-case hex digits), its size, a name for messages. */
    record JarInfo(String sha256, long size, String name) {
        static void put(ByteBuf out, JarInfo j) {
            writeString(out, j.sha256);
            out.writeLong(j.size);
            writeString(out, j.name);
        }

        static JarInfo get(ByteBuf in) {
            String sha = readSha(in);
            long size = readLong(in);
            if (size < 0) {
                throw new ProtocolException("jar " + sha + " has a negative size " + size);
            }
            return new JarInfo(sha, size, readString(in));
        }
    }

    private static String readSha(ByteBuf in) {
        String sha = readString(in);
        if (!io.quiver.core.code.CodeJar.isSha256(sha)) {
            throw new ProtocolException("a jar name must be a SHA-256 in 64 lower-case hex digits, got '"
                    + (sha == null ? "null" : sha.length() > 80 ? sha.substring(0, 80) + "..." : sha) + "'");
        }
        return sha;
    }

    /**
     * A client announces its code to an executor on its data connection: its ref owner (the session its
     * refs are minted under, which names it in every task), its id, and its jars in class path order.
     */
    record CodeOffer(long owner, String client, List<JarInfo> jars) implements Message {
        public Type type() { return Type.CODE_OFFER; }

        public void write(ByteBuf out) {
            out.writeLong(owner);
            writeString(out, client);
            writeList(out, jars, JarInfo::put);
        }

        static CodeOffer read(ByteBuf in) {
            return new CodeOffer(readLong(in), readString(in), readList(in, 80, JarInfo::get));
        }
    }

    /** The jars of an offer the executor lacks (neither on its own class path nor in its cache). */
    record CodeWant(long owner, List<String> sha256s) implements Message {
        public Type type() { return Type.CODE_WANT; }

        public void write(ByteBuf out) {
            out.writeLong(owner);
            writeList(out, sha256s, Wire::writeString);
        }

        static CodeWant read(ByteBuf in) {
            return new CodeWant(readLong(in), readList(in, 68, Message::readSha));
        }
    }

    /** A chunk of a wanted jar; chunks of one jar come in order, one jar after another. */
    record JarChunk(String sha256, long total, long offset, ByteBuf data) implements DataMessage {
        public Type type() { return Type.JAR_CHUNK; }

        public void write(ByteBuf out) {
            writeString(out, sha256);
            out.writeLong(total);
            out.writeLong(offset);
        }

        static JarChunk read(ByteBuf in) {
            String sha = readSha(in);
            long total = readLong(in);
            long offset = readLong(in);
            if (total < 0 || offset < 0 || offset + in.readableBytes() > total) {
                throw new ProtocolException("chunk [" + offset + ", +" + in.readableBytes() + ") outside jar " + sha
                        + " of " + total + " bytes");
            }
            return new JarChunk(sha, total, offset, in.readRetainedSlice(in.readableBytes()));
        }
    }

    /** The client's code is ready on the executor ({@code error} null), or why it cannot be. */
    record CodeReady(long owner, String error) implements Message {
        public Type type() { return Type.CODE_READY; }

        public void write(ByteBuf out) {
            out.writeLong(owner);
            writeString(out, error);
        }

        static CodeReady read(ByteBuf in) {
            return new CodeReady(readLong(in), readString(in));
        }
    }

    /** The client closes: its class loader may go now. */
    record CodeRelease(long owner) implements Message {
        public Type type() { return Type.CODE_RELEASE; }

        public void write(ByteBuf out) {
            out.writeLong(owner);
        }

        static CodeRelease read(ByteBuf in) {
            return new CodeRelease(readLong(in));
        }
    }
}
