import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * Frames sent on one WebSocket in the same turn of the event loop leave in one write.
 *
 * ws writes every frame on its own (`socket.write` per frame, or a cork/uncork pair around a
 * frame's header and payload), so over TLS each message is its own record and its own write
 * syscall. A call sends several in one breath: a TTS context's first message, its text and
 * the flush (the greeting), the flushed audio batch and the Finalize at an ASR release, a
 * KeepAlive and its ping. Corking the socket until the next tick makes those one writev, which
 * Node's TLS layer encrypts as one record and writes in one syscall. Nothing waits longer
 * than the current tick: the uncork runs before the event loop polls for I/O again.
 *
 * ws keeps its socket in `_socket` (not public API, stable since ws 1.x); without one (not
 * yet open, or an implementation without it) this does nothing and frames go out as before.
 */
export class TickCork {
  readonly #ws: WebSocket;
  #corked = false;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** Call before a send; later sends in this tick join the same write. */
  cork(): void {
    if (this.#corked) return;
    const socket = (this.#ws as unknown as { _socket?: Socket | null })._socket;
    if (!socket || socket.destroyed || typeof socket.cork !== 'function') return;
    this.#corked = true;
    socket.cork();
    process.nextTick(() => {
      this.#corked = false;
      socket.uncork();
    });
  }
}
