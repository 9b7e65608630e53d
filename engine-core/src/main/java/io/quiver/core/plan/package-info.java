/**
 * Internal: the dataset job model shared by client, leader and executors. The client builds a flat
 * {@link io.quiver.core.plan.LogicalPlan} (user functions as serialized bytes, so the leader never
 * loads user classes); the planner (module {@code dag-planner}) turns it into stages whose tasks
 * run a {@link io.quiver.core.plan.StageFunction} on executors. Nothing here recurses over a plan.
 */
package io.quiver.core.plan;
