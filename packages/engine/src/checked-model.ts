import { CpuBackend, GraphBackend, type PerturbedCostBackend } from "@gradcheck/compute";
import type { Layout, TensorRole } from "@gradcheck/core";
import { forward, graphCost, networkFromTheta, parameterLayout, tensorRoles, type CompiledGraph, type CompiledLayer } from "@gradcheck/models";
import type { CheckInput } from "./check-input.js";

/**
 * What the planner, the aggregator and the report need to know of the model behind a check,
 * for either spec version: its tensors, its backend, its cost, and the facts the diagnosis
 * reasons with. Everything else about a check is the same for an MLP and a version 2 network.
 */

/** Where each tensor of θ lives: W1, b1, ... or the state_dict names of a version 2 network. */
export function layoutOf(input: CheckInput): Layout {
  return input.graph ? graphLayout(input.graph) : parameterLayout(input.spec);
}

export const graphLayout = (graph: CompiledGraph): Layout => ({ tensors: graph.parameters, total: graph.parameterCount });

export function modelNameOf(input: CheckInput): string {
  return input.graph ? input.graph.spec.name : input.spec.name;
}

/** The spec as the history records it (the user's JSON, defaults filled in). */
export function recordedSpecOf(input: CheckInput): unknown {
  return input.graph ? input.graph.spec : input.spec;
}

export function batchSizeOf(input: CheckInput): number {
  return input.graph ? input.batch.m : input.batch.size;
}

/** The λ of the spec's l2 term. */
export function lambdaOf(input: CheckInput): number {
  return input.graph ? input.graph.spec.l2 : input.spec.l2;
}

/** The probability that dropout keeps a unit, at its lowest over the model: 1 without dropout. */
export function keepProbOf(input: CheckInput): number {
  if (!input.graph) return input.spec.keepProb;
  const dropped = (layers: readonly CompiledLayer[]): number[] =>
    layers.flatMap((layer) => [...(layer.spec.type === "dropout" ? [(layer.spec as unknown as { p: number }).p] : []), ...dropped(layer.children)]);
  return 1 - Math.max(0, ...dropped(input.graph.layers));
}

/**
 * Each tensor's place for the diagnosis: layers numbered in forward order among those with
 * parameters, weights (what l2 counts) told from biases and from gains, and the spec's name
 * of the layer, so that findings say `blocks.0.attn` rather than a number.
 */
export function tensorRolesOf(input: CheckInput): TensorRole[] {
  if (!input.graph) return tensorRoles(input.spec);
  const order = new Map<string, number>();
  for (const tensor of input.graph.parameters) if (!order.has(tensor.layer)) order.set(tensor.layer, order.size + 1);
  return input.graph.parameters.map((tensor) => ({
    layer: order.get(tensor.layer)!,
    kind: tensor.decays ? "weight" : tensor.name.endsWith(".bias") ? "bias" : "other",
    layerName: tensor.layer,
  }));
}

/** J(θ) and its perturbations, with the unperturbed forward pass kept. */
export function backendForInput(input: CheckInput): PerturbedCostBackend {
  return input.graph ? new GraphBackend(input.graph, input.theta, input.buffers, input.batch) : new CpuBackend(input.spec, input.theta, input.batch);
}

/** J(θ) by a full forward pass, apart from any backend. */
export function fullCostOf(input: CheckInput): number {
  return input.graph ? graphCost(input.graph, input.theta, input.buffers, input.batch) : forward(networkFromTheta(input.spec, input.theta), input.batch).cost;
}
