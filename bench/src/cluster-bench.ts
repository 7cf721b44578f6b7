import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { CheckState, Report } from "@gradcheck/contracts";
import { LocalCluster } from "@gradcheck/coordinator/testing";
import { MNIST_SPEC } from "./mnist-fixture.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));

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
    const submit = async (): Promise<{ ms: number; report: Report }> => {
      const started = performance.now();
      const { stdout } = await run(process.execPath, [CLI, "submit", checkpointPath, "--model", modelPath, "--wait", "--json", "--top", String(++top)], {
        env: { ...process.env, GRADCHECK_SERVER: cluster.url, GRADCHECK_KEY: key },
      });
      const ms = performance.now() - started;
      return { ms, report: JSON.parse(stdout) as Report };
    };
    const service = async (hash: string): Promise<{ ms: number; state: CheckState }> => {
      const call = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${cluster.url}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return (await response.json()) as CheckState;
      };
      const started = performance.now();
      let state = await call("POST", "/checks", { model, checkpoint: hash, options: { mode: "full", top: ++top } });
      // A poll every 25 ms (12 ms late on average): polling every 5 ms kept the coordinator
      // busy on the two cores the workers compute on, and measured the bench as much as them.
      while (state.status === "queued" || state.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 25));
        state = await call("GET", `/checks/${state.id}`);
      }
      return { ms: performance.now() - started, state };
    };

    const warm = await submit();
    if (warm.report.verdict !== "pass") throw new Error("the correct benchmark model did not pass through the cluster");
    const submitTimes: number[] = [];
    for (let repeat = 0; repeat < REPEATS; repeat++) submitTimes.push((await submit()).ms);
    const hash = (await fetch(`${cluster.url}/api/v1/models/${model}/checkpoints`, { headers: { authorization: `Bearer ${key}` } })
      .then((response) => response.json())
      .then((list) => (list as { hash: string }[])[0].hash)) as string;
    const serviceTimes: number[] = [];
    let shards = 0;
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      const { ms, state } = await service(hash);
      if (state.status !== "done") throw new Error(`a cluster check ended ${state.status}: ${state.error}`);
      serviceTimes.push(ms);
      shards = state.progress.shardsTotal;
    }
    return { submit: submitTimes, service: serviceTimes, shards };
  } finally {
    await cluster.destroy();
  }
}
