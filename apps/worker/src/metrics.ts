import { createServer, type Server } from "node:http";
import { SHARD_SECONDS_BUCKETS } from "@gradcheck/contracts";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

/** A worker's Prometheus metrics: shards done and failed, their durations, its processors; served on GET /metrics. */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly shards = new Counter({ name: "gradcheck_worker_shards_total", help: "Shards this worker finished, by outcome", labelNames: ["outcome"], registers: [this.registry] });
  private readonly seconds = new Histogram({
    name: "gradcheck_worker_shard_duration_seconds",
    help: "Seconds a shard's computation took here",
    buckets: SHARD_SECONDS_BUCKETS,
    registers: [this.registry],
  });

  constructor(processors: number) {
    collectDefaultMetrics({ register: this.registry, prefix: "gradcheck_worker_" });
    new Gauge({ name: "gradcheck_worker_processors", help: "Shards this worker computes at once", registers: [this.registry] }).set(processors);
  }

  completed(seconds: number): void {
    this.shards.inc({ outcome: "completed" });
    this.seconds.observe(seconds);
  }

  failed(): void {
    this.shards.inc({ outcome: "failed" });
  }

  /** Listens on the port; answers GET /metrics with the Prometheus text, anything else with 404. */
  async serve(port: number, host: string): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
        response.writeHead(404, { "content-type": "text/plain" }).end("only GET /metrics is served here\n");
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(`${error.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    return server;
  }
}
