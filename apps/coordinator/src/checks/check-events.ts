import { Inject, Injectable } from "@nestjs/common";
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
export class CheckEvents {
  constructor(
    @Inject(CheckService) private readonly checks: CheckService,
    @Inject(CheckNotifier) private readonly notifier: CheckNotifier,
  ) {}

  async stream(id: string, request: Request, response: Response): Promise<void> {
    let state = await this.checks.state(id);
    response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
    let open = true;
    request.on("close", () => (open = false));
    try {
      while (open) {
        const finished = isFinished(state.status);
        response.write(`event: ${finished ? "end" : "progress"}\ndata: ${JSON.stringify(state)}\n\n`);
        if (finished) break;
        await this.notifier.changed(id, POLL_MS);
        state = await this.checks.state(id);
      }
    } catch (error) {
      response.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
    } finally {
      response.end();
    }
  }
}
