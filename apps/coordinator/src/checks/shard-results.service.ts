import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException, PayloadTooLargeException, ServiceUnavailableException } from "@nestjs/common";
import { shardResultsBodyBytes } from "@gradcheck/contracts";
import { ShardResultStore, CheckRepository } from "@gradcheck/db";
import { splitShardResultsBody } from "@gradcheck/engine";
import type { Readable } from "node:stream";
import getRawBody from "raw-body";
import { QueueService } from "../queue/queue.service.js";

const WHOLE = /^(0|[1-9][0-9]{0,9})$/;

/** What a worker says of the results it hands in. */
export interface HandedIn {
  readonly checkId: string;
  readonly index: string;
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly contentType: string | undefined;
  readonly contentLength: string | undefined;
  readonly body: Readable;
}

/**
 * Takes the results of a shard from the worker that computed it and stores them in
 * PostgreSQL, once per (check, shard), before answering: aggregation reads them from there,
 * so they never travel through Redis. Only a shard the check's flow planned is taken, with
 * exactly the bytes its items need.
 */
@Injectable()
export class ShardResultsService {
  constructor(
    @Inject(ShardResultStore) private readonly store: ShardResultStore,
    @Inject(CheckRepository) private readonly checks: CheckRepository,
    @Inject(QueueService) private readonly queue: QueueService,
  ) {}

  /** stored: false when an earlier attempt of the shard stored them already. */
  async receive(handedIn: HandedIn): Promise<{ stored: boolean }> {
    const { checkId } = handedIn;
    const index = whole("the shard index", handedIn.index);
    const start = whole("start", handedIn.start);
    const end = whole("end", handedIn.end);
    if (!handedIn.contentType?.startsWith("application/octet-stream")) {
      throw new BadRequestException(`send the results as the body with Content-Type: application/octet-stream (got ${handedIn.contentType ?? "none"})`);
    }
    const row = await this.checks.find(checkId);
    if (!row) throw new NotFoundException(`no check with id "${checkId}"`);
    if (row.status !== "queued" && row.status !== "running") {
      throw new ConflictException(`check ${checkId} is ${row.status}: its shard results are no longer taken`);
    }
    const flow = await this.queue.flowState(checkId).catch(() => undefined);
    if (flow === undefined) throw new ServiceUnavailableException("the job queue is unreachable, so the shard cannot be matched to its check; try again once it is back");
    if (flow === null) throw new ConflictException(`check ${checkId} has no jobs in the queue any more: its shard results are no longer taken`);
    const { shards, shardSize, items } = flow.data;
    if (index >= shards) throw new BadRequestException(`check ${checkId} has ${shards} shards (0 to ${shards - 1}), not shard ${index}`);
    const planned = { start: index * shardSize, end: Math.min(items, (index + 1) * shardSize) };
    if (start !== planned.start || end !== planned.end) {
      throw new BadRequestException(`shard ${index} of check ${checkId} covers [${planned.start}, ${planned.end}), not [${start}, ${end})`);
    }

    const bytes = shardResultsBodyBytes(end - start);
    const body = await readExactly(handedIn.body, handedIn.contentLength, bytes, `shard ${index}'s ${end - start} items`);
    const parts = splitShardResultsBody(body, end - start)!;
    return { stored: await this.store.store(checkId, { shardIndex: index, start, end, ...parts }) };
  }
}

function whole(what: string, text: string | undefined): number {
  if (text === undefined || !WHOLE.test(text)) throw new BadRequestException(`${what} must be a whole number${text === undefined ? "" : `, got "${text}"`}`);
  return Number(text);
}

/** The body, which must be `bytes` long: 9 bytes per item (a float64, then a status byte). */
async function readExactly(body: Readable, contentLength: string | undefined, bytes: number, what: string): Promise<Buffer> {
  const expected = `${what} need ${bytes} bytes (9 per item: a float64, then a status byte)`;
  let read: Buffer;
  try {
    // A body longer than it should be is refused at the limit, never read whole.
    read = await getRawBody(body, { limit: bytes, length: contentLength });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type === "entity.too.large") throw new PayloadTooLargeException(`the body is larger than ${bytes} bytes: ${expected}`);
    if (type === "request.size.invalid") throw new BadRequestException(`the body's length is not its Content-Length: ${expected}`);
    if (type === "request.aborted") throw new BadRequestException("the upload was interrupted");
    throw error;
  }
  if (read.length !== bytes) throw new BadRequestException(`the body holds ${read.length} bytes: ${expected}`);
  return read;
}
