// A reader for text/event-stream (the WHATWG "server-sent events" format): lines of
// `field: value`, an event ends at a blank line. Network chunks split lines, CRLF pairs and
// UTF-8 characters anywhere, so bytes are decoded as a stream and lines are cut only once
// they are complete.

export interface ServerSentEvent {
  /** the `event:` field; "message" when the event had none */
  readonly event: string;
  /** the `data:` lines, joined with "\n" */
  readonly data: string;
  /** the `id:` field, if any */
  readonly id?: string;
}

const LF = 0x0a;
const CR = 0x0d;

/** Turns decoded text, pushed in arbitrary pieces, into events. */
export class ServerSentEventParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;

  /** Feeds more text; returns the events it completed. */
  push(text: string): ServerSentEvent[] {
    this.buffer += text;
    return this.takeLines(false);
  }

  /**
   * The stream ended. As the format says, an event without its closing blank line is dropped:
   * the connection may have broken in the middle of it.
   */
  end(): ServerSentEvent[] {
    const events = this.takeLines(true);
    this.buffer = "";
    this.event = "";
    this.data = [];
    return events;
  }

  private takeLines(final: boolean): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    const text = this.buffer;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      // A CR at the end of what has arrived may be the first half of a CRLF: wait for the next piece.
      if (c === CR && i === text.length - 1 && !final) break;
      this.line(text.slice(start, i), events);
      if (c === CR && text.charCodeAt(i + 1) === LF) i++;
      start = i + 1;
    }
    this.buffer = text.slice(start);
    return events;
  }

  private line(line: string, events: ServerSentEvent[]): void {
    if (line === "") {
      if (this.data.length > 0) events.push({ event: this.event || "message", data: this.data.join("\n"), ...(this.id === undefined ? {} : { id: this.id }) });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment, e.g. a keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    // "retry" and unknown fields are ignored: the caller decides how to reconnect.
  }
}

/** The events of a byte stream (e.g. a fetch response body), as they complete. */
export async function* readServerSentEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder(); // UTF-8, drops a leading byte-order mark as the format asks
  const parser = new ServerSentEventParser();
  for await (const chunk of chunks) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.push(decoder.decode());
  yield* parser.end();
}
