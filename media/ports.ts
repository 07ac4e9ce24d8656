import { MediaError } from './errors.js';

/**
 * RTP ports from a configured range. RFC 3550 §11: "RTP SHOULD use an even destination port
 * number and the corresponding RTCP stream SHOULD use the next higher (odd) port number."
 */
export class PortAllocator {
  private readonly free: number[] = [];
  private readonly used = new Set<number>();

  constructor(readonly min: number, readonly max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || max - min < 1) {
      throw new MediaError('MEDIA_ERR_PORT_RANGE', `bad RTP port range ${min}-${max}`, { min, max });
    }
    for (let p = min % 2 === 0 ? min : min + 1; p + 1 <= max; p += 2) this.free.push(p);
    if (this.free.length === 0) throw new MediaError('MEDIA_ERR_PORT_RANGE', `range ${min}-${max} holds no even/odd pair`, { min, max });
  }

  get capacity(): number {
    return this.free.length + this.used.size;
  }
  get inUse(): number {
    return this.used.size;
  }

  /** Returns an even RTP port (RTCP = port + 1); throws MEDIA_ERR_PORTS_EXHAUSTED. */
  allocate(): number {
    const p = this.free.shift();
    if (p === undefined) {
      throw new MediaError('MEDIA_ERR_PORTS_EXHAUSTED', `all ${this.capacity} RTP ports in ${this.min}-${this.max} are in use`, {
        min: this.min,
        max: this.max,
      });
    }
    this.used.add(p);
    return p;
  }

  /** Idempotent; a released port goes to the back so it is not reused at once (stray late packets). */
  release(port: number): void {
    if (this.used.delete(port)) this.free.push(port);
  }
}
