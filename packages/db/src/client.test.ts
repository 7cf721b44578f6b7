import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "./client.js";

describe("an embedded history database", () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "gradcheck-db-test-"));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it("is opened by one client at a time: a second one waits until the first disconnects", async () => {
    const dataDir = join(directory, "history");
    const first = await createClient({ dataDir, migrate: true });
    await first.model.create({ data: { name: "m", spec: {} } });
    let secondOpened = false;
    const second = createClient({ dataDir, migrate: true }).then((client) => {
      secondOpened = true;
      return client;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(secondOpened).toBe(false);
    await first.$disconnect();
    const client = await second;
    expect(await client.model.count()).toBe(1);
    await client.$disconnect();
  }, 90_000);
});
