/**
 * RFC 3711 §3.3.2 replay list as a sliding bitmap of the last 64 indices (two 32-bit words, no
 * BigInt per packet). Bit k set: index (top − k) was received and authenticated.
 */
export class ReplayWindow {
  #top = -1;
  #lo = 0;
  #hi = 0;

  /** True when `index` is new and inside the window (checked before authentication). */
  fresh(index: number): boolean {
    if (this.#top < 0 || index > this.#top) return true;
    const d = this.#top - index;
    if (d >= 64) return false;
    return ((d < 32 ? this.#lo >>> d : this.#hi >>> (d - 32)) & 1) === 0;
  }

  /** Records an authenticated index. */
  accept(index: number): void {
    if (this.#top < 0) {
      this.#top = index;
      this.#lo = 1;
      this.#hi = 0;
      return;
    }
    if (index > this.#top) {
      const d = index - this.#top;
      if (d >= 64) {
        this.#lo = 0;
        this.#hi = 0;
      } else if (d >= 32) {
        this.#hi = d === 32 ? this.#lo : this.#lo << (d - 32);
        this.#lo = 0;
      } else {
        this.#hi = (this.#hi << d) | (this.#lo >>> (32 - d));
        this.#lo = this.#lo << d;
      }
      this.#lo |= 1;
      this.#top = index;
      return;
    }
    const d = this.#top - index;
    if (d < 32) this.#lo |= 1 << d;
    else if (d < 64) this.#hi |= 1 << (d - 32);
  }
}
