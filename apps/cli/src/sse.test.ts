import { describe, expect, it } from "vitest";
import { readServerSentEvents, ServerSentEventParser, type ServerSentEvent } from "./sse.js";

const STREAM =
  "\uFEFF: a comment, then a keep-alive\n" +
  ":\n" +
  "\n" +
  "event: progress\n" +
  'data: {"θ":"λ·∛ε","n":1}\n' +
  "\n" +
  "event:end\r\n" +
  "data:  two spaces keep one\r\n" +
  "data\r\n" +
  "data: third line\r\n" +
  "id: 7\r\n" +
  "retry: 100\r\n" +
  "\r\n" +
  "data: no event field\r" +
  "\r" +
  "event: dropped, it has no data\n" +
  "\n" +
  "event: unfinished\n" +
  "data: the connection broke here\n";

const EXPECTED: ServerSentEvent[] = [
  { event: "progress", data: '{"θ":"λ·∛ε","n":1}' },
  { event: "end", data: " two spaces keep one\n\nthird line", id: "7" },
  { event: "message", data: "no event field", id: "7" },
];

async function eventsOf(pieces: Uint8Array[]): Promise<ServerSentEvent[]> {
  async function* chunks() {
    yield* pieces;
  }
  const events: ServerSentEvent[] = [];
  for await (const event of readServerSentEvents(chunks())) events.push(event);
  return events;
}

describe("server-sent events", () => {
  const bytes = new TextEncoder().encode(STREAM);

  it("reads events, comments, multi-line data, CRLF and CR line ends, and drops an unfinished event", async () => {
    expect(await eventsOf([bytes])).toEqual(EXPECTED);
  });

  it("reads the same events wherever the stream is split: inside lines, CRLF pairs and UTF-8 characters", async () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await eventsOf([bytes.subarray(0, cut), bytes.subarray(cut)]), `split at byte ${cut}`).toEqual(EXPECTED);
    }
    expect(await eventsOf(Array.from(bytes, (byte) => Uint8Array.of(byte)))).toEqual(EXPECTED);
  });

  it("holds back a CR that may be half a CRLF, and takes it as a line end when the stream ends", () => {
    const parser = new ServerSentEventParser();
    expect(parser.push("data: x\r\r")).toEqual([]);
    expect(parser.end()).toEqual([{ event: "message", data: "x" }]);
  });
});
