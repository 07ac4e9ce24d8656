import type { Readable } from 'node:stream';

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Server-sent events from a byte stream (WHATWG HTML §9.2.6): lines end in
 * LF, CR or CRLF; `data:` lines of one event join with LF; a blank line
 * dispatches; `:` lines are comments. Bounded: an event over `maxEventBytes`
 * is an error, not an unbounded buffer.
 */
export async function* parseSse(stream: Readable, maxEventBytes = 1_000_000): AsyncGenerator<SseEvent> {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let size = 0;
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    buffer += chunk as string;
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
        size = 0;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      size += value.length;
      if (size > maxEventBytes) throw new Error(`server-sent event over ${maxEventBytes} bytes`);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
    if (buffer.length > maxEventBytes) throw new Error(`server-sent event line over ${maxEventBytes} bytes`);
  }
  if (data.length) yield { event: event || 'message', data: data.join('\n') };
}
