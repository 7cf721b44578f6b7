import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CheckState, Report } from "@gradcheck/contracts";
import { LocalCluster } from "@gradcheck/coordinator/testing";
import { MNIST_SPEC } from "./mnist-fixture.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));
const MEASURE = fileURLToPath(new URL("./measure-check.js", import.meta.url));

/** Wall times in milliseconds of full checks through a local cluster. */
export interface ClusterTimes {
  /** `gradcheck submit --wait` processes: upload, submit, follow, print */
  readonly submit: number[];
  /** POST /checks to the report, the checkpoint already uploaded */
  readonly service: number[];
  readonly shards: number;
}

const REPEATS = 3;

/**
 * Runs a full check (the MNIST-sized one unless told) through a real cluster on this machine (coordinator and
 * `workers` worker processes of one processor each, the local PostgreSQL and Redis). Each run
 * asks for another `--top`, which makes a new check of identical work (the same options would
 * return the finished check). One run first warms the workers up (download, JIT).
 */
export async function timeClusterChecks(checkpointPath: string, modelPath: string, workers: number, model = MNIST_SPEC.name): Promise<ClusterTimes> {
  const cluster = await LocalCluster.create();
  try {
    await cluster.startCoordinator();
    const key = await cluster.key("submitter");
    for (let index = 0; index < workers; index++) await cluster.startWorker({ GRADCHECK_WORKER_CONCURRENCY: "1" });
    let top = 0;
    const submit = () => submitWithCli(cluster, key, checkpointPath, modelPath, ++top);
    await submit();
    const submitTimes: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) submitTimes.push((await submit()).ms);
    const hash = await latestCheckpoint(cluster.url, key, model);
    const serviceTimes: number[] = [];
    let shards = 0;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const { ms, shards: total } = await timedCheck(cluster.url, key, model, hash, ++top);
      serviceTimes.push(ms);
      shards = total;
    }
    return { submit: submitTimes, service: serviceTimes, shards };
  } finally {
    await cluster.destroy();
  }
}

/** The state in a check's `end` event. */
async function endOfStream(url: string, headers: Record<string, string>): Promise<CheckState> {
  const response = await fetch(url, { headers });
  if (!response.ok || !response.body) throw new Error(`GET ${url} answered ${response.status}`);
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of response.body) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    const end = /event: end\ndata: (.*)\n\n/.exec(text);
    // leaving the loop cancels the stream
    if (end) return JSON.parse(end[1]) as CheckState;
  }
  throw new Error(`the event stream of ${url} ended without an end event`);
}

/** Wall times of the same full check with one worker and with two, taken in turns. */
export interface WorkerComparison {
  /** POST /checks to the end event, per round */
  readonly one: number[];
  readonly two: number[];
  /**
   * The machine's own ceiling, per round: the same check as two local one-thread processes at
   * once, against one alone (2 × alone / the pair's mean). This machine's two cores do not
   * always give twice one core's work, and no cluster of two workers can beat this.
   */
  readonly ceiling: number[];
  /** shards of a check with one worker, and with two */
  readonly shards: readonly [number, number];
}

/**
 * One worker against two on the same check, in alternating rounds on one cluster: this
 * machine's speed drifts over minutes, and taking the two in turns lets the drift fall on
 * both alike. The second worker is started for each two-worker round (its first check warms
 * it up: download, JIT) and stopped after it, so the planner sizes shards for the processors
 * present, as it would for a user.
 */
export async function compareWorkerCounts(checkpointPath: string, modelPath: string, model: string, rounds = 3): Promise<WorkerComparison> {
  const cluster = await LocalCluster.create();
  try {
    await cluster.startCoordinator();
    const key = await cluster.key("submitter");
    await startReadyWorker(cluster);
    let top = 0;
    await submitWithCli(cluster, key, checkpointPath, modelPath, ++top);
    const hash = await latestCheckpoint(cluster.url, key, model);
    const check = () => timedCheck(cluster.url, key, model, hash, ++top);
    const one: number[] = [];
    const two: number[] = [];
    const ceiling: number[] = [];
    const shards: [number, number] = [0, 0];
    for (let round = 0; round < rounds; round++) {
      const single = await check();
      one.push(single.ms);
      shards[0] = single.shards;
      ceiling.push(await parallelCeiling(checkpointPath, modelPath));
      const second = await startReadyWorker(cluster);
      await check();
      const pair = await check();
      two.push(pair.ms);
      shards[1] = pair.shards;
      second.kill("SIGTERM");
      await second.exited;
    }
    return { one, two, ceiling, shards };
  } finally {
    await cluster.destroy();
  }
}

/** 2 × (one local one-thread check alone) / (the mean of two at once): what two busy cores give here and now. */
async function parallelCeiling(checkpointPath: string, modelPath: string): Promise<number> {
  const checkMs = async () => (JSON.parse((await run(process.execPath, [MEASURE, checkpointPath, modelPath, "1", "full"])).stdout) as { checkMs: number }).checkMs;
  const alone = await checkMs();
  const pair = await Promise.all([checkMs(), checkMs()]);
  return (2 * alone) / ((pair[0] + pair[1]) / 2);
}

/** `gradcheck submit --wait` of the checkpoint (uploading it the first time), timed; the correct model must pass. */
async function submitWithCli(cluster: LocalCluster, key: string, checkpointPath: string, modelPath: string, top: number): Promise<{ ms: number }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [CLI, "submit", checkpointPath, "--model", modelPath, "--wait", "--json", "--top", String(top)], {
    env: { ...process.env, GRADCHECK_SERVER: cluster.url, GRADCHECK_KEY: key },
  });
  const ms = performance.now() - started;
  if ((JSON.parse(stdout) as Report).verdict !== "pass") throw new Error("the correct benchmark model did not pass through the cluster");
  return { ms };
}

async function startReadyWorker(cluster: LocalCluster) {
  const worker = await cluster.startWorker({ GRADCHECK_WORKER_CONCURRENCY: "1" });
  const deadline = Date.now() + 30_000;
  while (!worker.output().includes("processors on")) {
    if (Date.now() > deadline) throw new Error(`a worker did not start:\n${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return worker;
}

async function latestCheckpoint(url: string, key: string, model: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/models/${model}/checkpoints`, { headers: { authorization: `Bearer ${key}` } });
  return ((await response.json()) as { hash: string }[])[0].hash;
}

/** POST /checks to its end event, with a `top` of its own so that it is a new check of the same work. */
async function timedCheck(url: string, key: string, model: string, hash: string, top: number): Promise<{ ms: number; shards: number }> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const started = performance.now();
  const submitted = await fetch(`${url}/api/v1/checks`, { method: "POST", headers, body: JSON.stringify({ model, checkpoint: hash, options: { mode: "full", top } }) });
  const { id } = (await submitted.json()) as CheckState;
  // Followed as a client should, on its event stream: the coordinator pushes the end as the
  // check finishes, and nothing polls the two cores the workers compute on.
  const state = await endOfStream(`${url}/api/v1/checks/${id}/events`, headers);
  if (state.status !== "done") throw new Error(`a cluster check ended ${state.status}: ${state.error}`);
  return { ms: performance.now() - started, shards: state.progress.shardsTotal };
}
