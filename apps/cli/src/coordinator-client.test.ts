import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckState } from "@gradcheck/contracts";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { CoordinatorClient, CoordinatorDeniedError, CoordinatorFailedError, type CoordinatorClientOptions } from "./coordinator-client.js";
import { apiError, FakeCoordinator } from "./test-support/fake-coordinator.js";

// How the client follows a check when the event stream does not behave; the command's tests
// (commands/submit.test.ts) cover the rest through `gradcheck submit`.

let directory: string;
let checkpoint: string;
let fake: FakeCoordinator;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "gradcheck-client-test-"));
  checkpoint = join(directory, "bytes.safetensors");
  await writeFile(checkpoint, "any bytes: the fake does not look inside");
  fake = await new FakeCoordinator({ reports: new Map() }).start();
});

afterAll(async () => {
  await fake?.stop();
  await rm(directory, { recursive: true, force: true });
});

beforeEach(() => fake.reset());

/** A client with a check submitted to the fake. */
async function submitted(options: Partial<CoordinatorClientOptions> = {}): Promise<{ client: CoordinatorClient; id: string }> {
  const client = new CoordinatorClient({ server: fake.url, key: "gck_submitter", pollIntervalMs: 20, ...options });
  await client.registerModel({ name: "m" });
  const { info } = await client.uploadCheckpoint("m", checkpoint);
  const { state } = await client.submitCheck({ model: "m", checkpoint: info.hash, options: {} });
  return { client, id: state.id };
}

async function statuses(states: AsyncIterable<CheckState>): Promise<string[]> {
  const seen: string[] = [];
  for await (const state of states) seen.push(`${state.status} ${state.progress.itemsDone}/${state.progress.itemsTotal}`);
  return seen;
}

describe("CoordinatorClient.followCheck", () => {
  it("gives up a stream that falls silent and polls to the end", async () => {
    fake.stream = { ...fake.stream, breakAfter: 1, breakBy: "stalling" };
    const { client, id } = await submitted({ streamIdleMs: 200 });
    expect(await statuses(client.followCheck(id))).toEqual(["running 0/30", "running 10/30", "running 20/30", "done 30/30"]);
    expect(fake.lines().filter((line) => line === `GET /api/v1/checks/${id}`)).toHaveLength(3);
    await vi.waitFor(() => expect(fake.openStreams).toBe(0));
  });

  it("rides out a coordinator that fails for a while when polled", async () => {
    fake.canned.set("events", apiError(503, "Service Unavailable", "restarting"));
    fake.canned.set("get", apiError(503, "Service Unavailable", "restarting"));
    const { client, id } = await submitted();
    setTimeout(() => fake.canned.delete("get"), 200);
    expect((await statuses(client.followCheck(id))).at(-1)).toBe("done 30/30");
  });

  it("gives up on a coordinator that keeps failing", async () => {
    fake.canned.set("events", apiError(503, "Service Unavailable", "restarting"));
    fake.canned.set("get", apiError(503, "Service Unavailable", "restarting"));
    const { client, id } = await submitted({ retryForMs: 150 });
    await expect(statuses(client.followCheck(id))).rejects.toMatchObject({ constructor: CoordinatorFailedError, status: 503, message: "restarting (HTTP 503)" });
  });

  it("stops at once on a refusal, which asking again would not change", async () => {
    fake.canned.set("events", apiError(401, "Unauthorized", "the API key was revoked"));
    fake.canned.set("get", apiError(401, "Unauthorized", "the API key was revoked"));
    const { client, id } = await submitted();
    await expect(statuses(client.followCheck(id))).rejects.toBeInstanceOf(CoordinatorDeniedError);
    expect(fake.lines().filter((line) => line === `GET /api/v1/checks/${id}`)).toHaveLength(1);
  });

  it("closes the stream when the caller stops following", async () => {
    fake.stream = { ...fake.stream, pieces: [1] }; // slow enough to still be open after the first event
    const { client, id } = await submitted();
    for await (const state of client.followCheck(id)) {
      expect(state.status).toBe("running");
      break;
    }
    await vi.waitFor(() => expect(fake.openStreams).toBe(0));
  });
});
