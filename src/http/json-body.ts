import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON answer nobody may cache (the ops API's state changes from one request to the next). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A request body as text, refused with a RangeError past `max` bytes while it streams in, so an
 * authorised but careless (or hostile) client cannot make the ops server buffer without bound.
 */
export async function readBodyText(req: IncomingMessage, max: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) throw new RangeError(`body over ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
