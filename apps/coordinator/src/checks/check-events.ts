import { Inject, Injectable } from "@nestjs/common";
import { isFinished } from "@gradcheck/contracts";
import type { Request, Response } from "express";
import { setTimeout as sleep } from "node:timers/promises";
import { CheckService } from "./check.service.js";

/** How often a stream reads the check's state. */
const POLL_MS = 500;

/** Server-Sent Events of a check's state, read from the queue and database, so any coordinator can serve them. */
@Injectable()
export class CheckEvents {
  constructor(@Inject(CheckService) private readonly checks: CheckService) {}

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
        await sleep(POLL_MS);
        state = await this.checks.state(id);
      }
    } catch (error) {
      response.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`);
    } finally {
      response.end();
    }
  }
}
