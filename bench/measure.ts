// Measuring helpers the benchmarks share: medians, timed runs with a collection between them, and
// counting set bits of the matrices' words.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full collection, so one run's garbage is not billed to the next. */
export const gc = runInNewContext('gc') as () => void;
export const now = (): number => performance.now();

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `warmup` runs (not counted), then `runs` timed runs with a collection after each; the median and the last result. */
export function timed<T>(runs: number, fn: () => T, warmup = 1): { ms: number; all: number[]; result: T } {
  let result!: T;
  for (let i = 0; i < warmup; i++) {
    result = fn();
    gc();
  }
  const all: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    result = fn();
    all.push(now() - t0);
    gc();
  }
  return { ms: median(all), all, result };
}

export function popcount(words: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < words.length; i++) {
    let v = words[i];
    v -= (v >>> 1) & 0x55555555;
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    total += (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return total;
}
