/** One pool's warm-up, as the terminal shows it. */
export interface WarmProgress {
  readonly pools: ReadonlyArray<{ name: string; open: number; floor: number; state: string }>;
  readonly registrations?: { up: number; total: number };
}

/**
 * Shows warm-up on the terminal: rewrites one line on a TTY, prints a line per
 * change otherwise (so logs and CI output stay readable).
 */
export class ProgressLine {
  #last = '';
  readonly #out: NodeJS.WriteStream;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  update(p: WarmProgress): void {
    const parts = p.pools.map((x) => `${x.name} ${Math.min(x.open, x.floor)}/${x.floor}${x.open >= x.floor ? ' ✓' : x.state === 'failed' ? ' ✗' : ''}`);
    if (p.registrations) parts.push(`registrations ${p.registrations.up}/${p.registrations.total}`);
    const line = `warming: ${parts.join('  ')}`;
    if (line === this.#last) return;
    this.#last = line;
    if (this.#out.isTTY) this.#out.write(`\r\x1b[2K${line}`);
    else this.#out.write(`${line}\n`);
  }

  done(): void {
    if (this.#out.isTTY && this.#last) this.#out.write('\n');
  }
}
