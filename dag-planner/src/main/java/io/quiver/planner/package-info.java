/**
 * The pure planner: {@link io.quiver.planner.Planner#plan} turns a logical plan and a
 * {@link io.quiver.planner.ClusterView} into a {@link io.quiver.planner.PhysicalPlan} of stages,
 * tasks, pinned inputs and locality preferences. No I/O, no threads.
 */
package io.quiver.planner;
