/**
 * Server-sent events (the WHATWG HTML standard, "Server-sent events", `text/event-stream`): the
 * framing the node's watch route writes and `watchNodeKey` reads. One module for both sides, so
 * the writer and the reader cannot drift apart.
 *
 * A stream is UTF-8 lines ended by LF, CR or CRLF. `field: value` lines build an event; an empty
 * line dispatches it; a line starting with `:` is a comment (ignored by readers: heartbeats).
 * `data` lines accumulate (joined by LF), `event` names the type (`message` when absent), `id` sets
 * the last event id, which a reconnecting client sends back as `Last-Event-ID`, `retry` the
 * reconnection delay in milliseconds.
 */

/** One event as dispatched. */
export interface ServerSentEvent {
  /** The event type (`message` when the stream named none). */
  readonly event: string;
  /** The data lines, joined by LF. */
  readonly data: string;
  /** The last event id after this event (an event without `id:` keeps the previous one). */
  readonly id: string;
}

/** An event as written: `data` may hold line breaks (each line becomes a `data:` line). */
export function formatEvent(event: { readonly event: string; readonly data: string; readonly id?: string | undefined }): string {
  let text = '';
  if (event.id !== undefined) {
    if (/[\0\r\n]/.test(event.id)) throw new TypeError('an event id must not contain NUL, CR or LF');
    text += `id: ${event.id}\n`;
  }
  if (/[\r\n]/.test(event.event)) throw new TypeError('an event type must not contain CR or LF');
  text += `event: ${event.event}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A comment (readers ignore it): a heartbeat that keeps proxies from closing an idle stream. */
export function formatComment(text: string): string {
  return `${text
    .split(/\r\n|\r|\n/)
    .map((line) => `: ${line}`)
    .join('\n')}\n\n`;
}

/** Reads an event stream chunk by chunk (decoded text), as the standard's parsing rules say. */
export class EventStreamReader {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id = '';
  /** A CR ended the last chunk: an LF at the start of the next one belongs to it. */
  #afterCr = false;
  /** The last `retry:` value, in milliseconds. */
  retryMs: number | undefined;

  /** @param lastEventId the id a resumed stream starts from (what the client sent). */
  constructor(lastEventId = '') {
    this.#id = lastEventId;
  }

  /** The last event id seen so far (kept across events that carry none). */
  get lastEventId(): string {
    return this.#id;
  }

  /** Feeds decoded text; returns the events it completed. */
  push(text: string): ServerSentEvent[] {
    if (this.#afterCr && text.startsWith('\n')) text = text.slice(1);
    this.#afterCr = false;
    this.#buffer += text;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const end = this.#buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.#buffer.slice(0, end);
      let next = end + 1;
      if (this.#buffer[end] === '\r') {
        if (next === this.#buffer.length) this.#afterCr = true;
        else if (this.#buffer[next] === '\n') next++;
      }
      this.#buffer = this.#buffer.slice(next);
      const event = this.#line(line);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      const data = this.#data;
      const type = this.#event;
      this.#data = [];
      this.#event = '';
      if (data.length === 0) return undefined;
      return { event: type === '' ? 'message' : type, data: data.join('\n'), id: this.#id };
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
