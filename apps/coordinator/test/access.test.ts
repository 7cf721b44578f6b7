import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyRepository } from "@gradcheck/db";
import { TestApi } from "../src/test-support/api.js";
import { SHARDED_SPEC } from "../src/test-support/checkpoints.js";
import { LocalCluster } from "../src/testing/local-cluster.js";

let cluster: LocalCluster;

interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>>;
  components: { securitySchemes: Record<string, object> };
}

beforeAll(async () => {
  cluster = await LocalCluster.create();
  await cluster.startCoordinator();
}, 120_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("access", () => {
  it("health answers without a key", async () => {
    const api = new TestApi(cluster.url);
    expect((await api.request("GET", "/health")).status).toBe(200);
    expect((await api.request("GET", "/health/ready")).body).toMatchObject({ status: "ok", database: "ok", queue: "ok" });
  });

  it("no key, or an unknown one: 401 saying how to authenticate", async () => {
    const none = await new TestApi(cluster.url).request("GET", "/models");
    expect(none.status).toBe(401);
    expect(none.body.message).toMatch(/Authorization: Bearer <key>/);
    const unknown = await new TestApi(cluster.url, "gck_not-a-real-key").request("GET", "/models");
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toMatch(/unknown or revoked/);
  });

  it("a viewer can read but not submit: 403", async () => {
    const viewer = new TestApi(cluster.url, await cluster.key("viewer"));
    expect((await viewer.request("GET", "/models")).status).toBe(200);
    for (const [method, path, body] of [
      ["POST", "/models", SHARDED_SPEC],
      ["POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: "0".repeat(64) }],
      ["POST", `/models/${SHARDED_SPEC.name}/checkpoints`, new Uint8Array(8)],
    ] as const) {
      const answer = await viewer.request(method, path, body);
      expect([path, answer.status]).toEqual([path, 403]);
      expect(answer.body.message).toMatch(/role submitter or above; this key's role is viewer/);
    }
  });

  it("a revoked key is refused", async () => {
    const { id, key } = await cluster.withDatabase((prisma) => new ApiKeyRepository(prisma).create("soon revoked", "admin"));
    const api = new TestApi(cluster.url, key);
    expect((await api.request("GET", "/models")).status).toBe(200);
    await cluster.withDatabase((prisma) => new ApiKeyRepository(prisma).revoke(id));
    expect((await api.request("GET", "/models")).status).toBe(401);
  });

  it("requests that do not fit the API get a 4xx with a message", async () => {
    const api = new TestApi(cluster.url, await cluster.key("submitter"));
    const badSpec = await api.request("POST", "/models", { name: "x", layers: [] });
    expect(badSpec.status).toBe(400);
    expect(typeof badSpec.body.message).toBe("string");
    const first = await api.request("POST", "/models", SHARDED_SPEC);
    expect([first.status, first.body.version]).toEqual([201, 1]);
    const again = await api.request("POST", "/models", SHARDED_SPEC);
    expect([again.status, again.body.version]).toEqual([200, 1]);
    // another λ under the same name is the model's next version, the latest; the first keeps its number
    const changed = await api.request("POST", "/models", { ...SHARDED_SPEC, l2: 0.5 });
    expect([changed.status, changed.body.version, changed.body.spec.l2]).toEqual([201, 2, 0.5]);
    const back = await api.request("POST", "/models", SHARDED_SPEC);
    expect([back.status, back.body.version]).toEqual([200, 1]);
    expect((await api.request("GET", `/models/${SHARDED_SPEC.name}`)).body).toMatchObject({ version: 2, spec: { l2: 0.5 } });
    const noVersion = await api.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: "0".repeat(64), specVersion: 9 });
    expect([noVersion.status, noVersion.body.message]).toEqual([404, expect.stringContaining(`model "${SHARDED_SPEC.name}" has no spec version 9`)]);
    const badJson = await api.request("POST", "/checks", "{not json", { "content-type": "application/json" });
    expect(badJson.status).toBe(400);
    const badOptions = await api.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: "0".repeat(64), options: { mode: "everything" } });
    expect(badOptions.status).toBe(400);
    expect(badOptions.body.message).toMatch(/options\.mode/);
    const missing = await api.request("POST", "/checks", { model: SHARDED_SPEC.name, checkpoint: "0".repeat(64) });
    expect(missing.status).toBe(404);
    expect((await api.request("GET", "/checks/not-a-check")).status).toBe(404);
    expect((await api.request("GET", "/models/nope")).status).toBe(404);
    expect((await api.request("GET", "/models/a%00b")).status).toBe(404);
    expect((await api.request("GET", "/models/a%00b/history")).status).toBe(404);
    const controlName = await api.request("POST", "/models", { ...SHARDED_SPEC, name: "a\u0000b" });
    expect(controlName.status).toBe(400);
    expect(controlName.body.message).toMatch(/name: must be printable text/);
  });

  it("serves the OpenAPI document", async () => {
    const response = await fetch(`${cluster.url}/api/docs/json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as OpenApi;
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(["/api/v1/checks", "/api/v1/checks/{id}/events", "/api/v1/models/{name}/checkpoints"]));
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: expect.not.stringMatching(/JWT/) });
  });

  it("documents every endpoint's answer and its errors with their schemas", async () => {
    const document = (await (await fetch(`${cluster.url}/api/docs/json`)).json()) as OpenApi;
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ at: `${method.toUpperCase()} ${path}`, path, operation })));
    expect(operations.length).toBeGreaterThanOrEqual(15);
    for (const { at, path, operation } of operations) {
      const answers = Object.entries(operation.responses);
      const success = answers.filter(([status]) => status.startsWith("2"));
      expect([at, success.length]).toEqual([at, expect.any(Number)]);
      expect([at, success.length > 0]).toEqual([at, true]);
      for (const [status, answer] of success) expect([at, status, Object.values(answer.content ?? {}).every((body) => body.schema !== undefined) && answer.content !== undefined]).toEqual([at, status, true]);
      const errors = answers.filter(([status]) => /^[45]/.test(status));
      // health and metrics are open without a key
      const expected = /^\/api\/v1\/(health|metrics)/.test(path) ? ["500"] : ["401", "403", "500"];
      expect([at, errors.map(([status]) => status)]).toEqual([at, expect.arrayContaining(expected)]);
      for (const [status, answer] of errors) {
        expect([at, status, answer.content?.["application/json"]?.schema]).toEqual([at, status, expect.objectContaining({ required: ["statusCode", "error", "message"] })]);
      }
    }
  });
});
