import { Inject, Injectable, type BeforeApplicationShutdown } from "@nestjs/common";
import { isFinished } from "@gradcheck/contracts";
import type { Request, Response } from "express";
import { CheckNotifier } from "../queue/check-notifier.js";
import { CheckService } from "./check.service.js";

/** The longest a stream goes without reading the check's state (progress, keep-alive). */
const POLL_MS = 500;

/**
 * Server-Sent Events of a check's state, read from the queue and database, so any coordinator
 * can serve them; a job of the check completing wakes the stream at once.
 */
@Injectable()
export class CheckEvents implements BeforeApplicationShutdown {
  constructor(
    @Inject(CheckService) private readonly checks: CheckService,
    @Inject(CheckNotifier) private readonly notifier: CheckNotifier,
  ) {}

  private readonly open = new Set<Response>();
  private closing = false;

  async stream(id: string, request: Request, response: Response): Promise<void> {
    let state = await this.checks.state(id);
    response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
    let open = true;
    request.on("close", () => (open = false));
    this.open.add(response);
    try {
      while (open && !this.closing) {
        const finished = isFinished(state.status);
        response.write(`event: ${finished ? "end" : "progress"}\ndata: ${JSON.stringify(state)}\n\n`);
        if (finished) break;
        await this.notifier.changed(id, POLL_MS);
        state = await this.checks.state(id);
      }
    } catch (error) {
      response.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
    } finally {
      this.open.delete(response);
      response.end();
    }
  }

  /** A coordinator that stops ends its streams (clients fall back to polling another one), or it could not stop. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    for (const response of this.open) response.end();
  }
}
