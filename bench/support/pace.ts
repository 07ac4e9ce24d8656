import { performance } from 'node:perf_hooks';

/**
 * Waits until `due` (performance.now() time) for an open-loop, paced benchmark. Under a
 * millisecond is not slept: a timer could not be that precise, and the op would start late.
 */
export async function sleepUntil(due: number): Promise<void> {
  const wait = due - performance.now();
  if (wait > 1) await new Promise((r) => setTimeout(r, wait));
}
