package io.quiver.coordinator.sched;

import io.quiver.RefId;
import io.quiver.coordinator.sched.Model.Block;
import io.quiver.coordinator.sched.Model.Client;
import io.quiver.coordinator.sched.Model.Fn;
import io.quiver.coordinator.sched.Model.Task;
import io.quiver.coordinator.sched.SchedulerEvent.JobSubmitted;
import io.quiver.core.codec.DefaultCodec;
import io.quiver.core.protocol.JobRefs;
import io.quiver.core.protocol.Message.Arg;
import io.quiver.core.protocol.Message.JobReply;
import io.quiver.planner.PersistedOutput;
import io.quiver.planner.PhysicalPlan;
import io.quiver.planner.Stage;
import io.quiver.planner.TaskInput;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Dataset jobs: a job planned off the loop ({@link JobPlanning}) becomes tasks here, every stage at
 * once, with refs derived from the job's id ({@link JobRefs}), so the same job sent again after a
 * leader change finds what exists instead of running it again. A job is known for as long as one
 * of its values is ({@link BlockManager#knowsJob}).
 *
 * <p>Confined to the scheduler loop, like the {@link Scheduler} that owns it.
 */
final class JobManager {
    private final Scheduler s;

    JobManager(Scheduler s) {
        this.s = s;
    }

    /**
     * Adds a planned job's tasks: every stage at once, dependencies by ref, so independent stages
     * run concurrently and each stage starts as its inputs complete. Every ref is derived from the
     * job's id, so a job sent again (after a leader change) adopts the outputs that exist and
     * re-sends the state of the ones this leader already knows. Shuffle outputs belong to no client
     * and are dropped once consumed.
     */
    void onJob(Client c, JobSubmitted job) {
        s.admission.adding(c, () -> addJob(c, job));
    }

    private void addJob(Client c, JobSubmitted job) {
        PhysicalPlan plan = job.plan();
        Map<Integer, PersistedOutput> persistedByStage = new HashMap<>();
        for (PersistedOutput p : plan.persistedOutputs()) {
            persistedByStage.put(p.stageId(), p);
        }
        List<List<List<RefId>>> outputs = new ArrayList<>(plan.stages().size());
        List<RefId> results = List.of();
        List<RefId> persisted = new ArrayList<>();
        List<Integer> persistedNodes = new ArrayList<>();
        int nextRef = 0;
        int stageRefs = 0;
        int[] stageTasks = new int[plan.stages().size()];
        for (Stage stage : plan.stages()) {
            stageRefs += stage.tasks().size() * stage.outputsPerTask();
            stageTasks[stage.id()] = stage.tasks().size();
        }
        // One shuffle dependency per map stage read whole (ShuffleInputs), by map stage id.
        Map<Integer, Task> deps = new HashMap<>();
        boolean known = s.blocks.knowsJob(job.job());
        List<Task> added = new ArrayList<>();
        Observed.Job progress = null;
        if (!known) {
            int n = plan.stages().size();
            String[] kinds = new String[n];
            int[] total = new int[n];
            for (Stage stage : plan.stages()) {
                kinds[stage.id()] = stage.kind().name();
                total[stage.id()] = stage.tasks().size();
            }
            progress = s.observed.jobStarted(job.job().toString(), c.id, kinds, total, plan.finalStage().id(),
                    s.now());
        }
        for (Stage stage : plan.stages()) {
            Fn fn = null;
            boolean owned = stage.kind() != Stage.Kind.SHUFFLE_MAP;
            PersistedOutput p = persistedByStage.get(stage.id());
            List<List<RefId>> stageOuts = new ArrayList<>(stage.tasks().size());
            for (io.quiver.planner.TaskSpec spec : stage.tasks()) {
                List<RefId> outs = new ArrayList<>(stage.outputsPerTask());
                for (int o = 0; o < stage.outputsPerTask(); o++) {
                    outs.add(JobRefs.ref(job.job(), nextRef++));
                }
                stageOuts.add(outs);
                if (known) {
                    Block b = s.blocks.get(outs.get(0));
                    if (b != null && b.owner == c) {
                        s.admission.resumeKnown(c, b);
                    }
                    continue;
                }
                if (fn == null) {
                    fn = s.tasks.newFn(job.stageFunctions().get(stage.id()));
                }
                List<TaskInput> inputs = spec.inputs();
                List<Arg> args = new ArrayList<>(Math.min(inputs.size(), 8));
                int shuffleBucket = -1;
                for (int k = 0; k < inputs.size(); k++) {
                    TaskInput in = inputs.get(k);
                    int whole = in instanceof TaskInput.ShuffleRead ? readsWholeStage(inputs, k, stageTasks) : 0;
                    TaskInput.ShuffleRead read = whole > 0 ? (TaskInput.ShuffleRead) in : null;
                    if (read != null && stageRefs + read.stageId() < JobRefs.MAX_REFS) {
                        // Every map output of that stage, in order: one edge to the stage's dependency, not M.
                        Task dep = deps.get(read.stageId());
                        if (dep == null) {
                            List<Arg> maps = new ArrayList<>(whole);
                            for (List<RefId> mapOuts : outputs.get(read.stageId())) {
                                maps.add(Arg.ref(mapOuts.get(0)));
                            }
                            dep = s.tasks.addShuffleDep(JobRefs.ref(job.job(), stageRefs + read.stageId()), fn, maps);
                            deps.put(read.stageId(), dep);
                            added.add(dep);
                        }
                        args.add(Arg.ref(dep.id));
                        shuffleBucket = Math.max(shuffleBucket, read.bucket());
                        k += whole - 1;
                        continue;
                    }
                    if (in instanceof TaskInput.Inline inline) {
                        args.add(Arg.value(DefaultCodec.INSTANCE.toBytes(inline.value())));
                    } else if (in instanceof TaskInput.Pinned pinned) {
                        args.add(Arg.ref(pinned.ref()));
                    } else if (in instanceof TaskInput.ShuffleRead sr) {
                        // Only its bucket: the executor fetches that slice of the map output, not the block.
                        args.add(Arg.slice(outputs.get(sr.stageId()).get(sr.mapTask()).get(0), sr.bucket()));
                        // The task's own bucket; a one-to-one read (bucket 0 of a one-bucket output) says less.
                        shuffleBucket = Math.max(shuffleBucket, sr.bucket());
                    } else {
                        TaskInput.StageOutput so = (TaskInput.StageOutput) in;
                        args.add(Arg.ref(outputs.get(so.stageId()).get(so.partition()).get(so.output())));
                    }
                }
                Task t = s.tasks.addTask(outs.get(0), List.copyOf(outs), fn, args, owned ? c : null, false);
                t.extras().shuffleBucket = shuffleBucket;
                t.extras().job = progress;
                t.extras().stage = stage.id();
                added.add(t);
                t.extras().pinnedTo = spec.preferredExecutors();
                if (owned) {
                    c.owned.addAll(t.outputs());
                }
                if (p != null) {
                    for (Block b : t.outputs()) {
                        b.pinnable = true;
                    }
                    s.outbox.viewChanged();
                }
            }
            outputs.add(stageOuts);
            if (p != null) {
                for (int i = 0; i < p.partitions(); i++) {
                    persisted.add(stageOuts.get(i).get(0));
                    persistedNodes.add(p.node());
                }
            }
            if (stage == plan.finalStage()) {
                results = stageOuts.stream().map(o -> o.get(0)).toList();
            }
        }
        for (int i = added.size() - 1; i >= 0; i--) {
            // Readers first: a reduce task found done no longer needs its map outputs, so a map task
            // whose output for it was dropped (consumed) is adopted with the outputs that remain.
            s.tasks.adoptOrSettle(added.get(i));
        }
        for (int i = added.size() - 1; i >= 0; i--) {
            // A map task whose readers all turned out done has nothing left to do: it is not run again.
            Task t = added.get(i);
            if (!t.finished() && !t.heldBack && !TaskGraph.stillWanted(t)) {
                s.tasks.dormant(t);
                t.outputs().forEach(s.blocks::maybeDrop);
            }
        }
        s.admission.reply(c, new JobReply(job.reqId(), results, persisted, persistedNodes, ""));
    }

    /**
     * How many inputs from {@code k} on are a read of one bucket from every map task of one stage,
     * in map order (two at least), or 0 if those at {@code k} are not.
     */
    private static int readsWholeStage(List<TaskInput> inputs, int k, int[] stageTasks) {
        TaskInput.ShuffleRead first = (TaskInput.ShuffleRead) inputs.get(k);
        int m = first.stageId() >= 0 && first.stageId() < stageTasks.length ? stageTasks[first.stageId()] : 0;
        if (m < 2 || first.mapTask() != 0 || k + m > inputs.size()) {
            return 0;
        }
        for (int i = 1; i < m; i++) {
            if (!(inputs.get(k + i) instanceof TaskInput.ShuffleRead sr) || sr.stageId() != first.stageId()
                    || sr.mapTask() != i || sr.bucket() != first.bucket()) {
                return 0;
            }
        }
        return m;
    }
}
