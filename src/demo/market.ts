import { specOf, TICK_MS, TICK_VOL, roundTo } from './config.js';

/** mulberry32: small, fast, and the same sequence in every process for one seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to derive one stream per (seed, name). */
export function seedOf(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function gaussian(next: () => number): number {
  const u = 1 - next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

interface Walk {
  next: () => number;
  drift: number;
  prices: number[];
}

/**
 * A simulated price feed: a random walk per symbol, a pure function of
 * (seed, symbol, tick) with ticks counted from a shared start time. Every
 * process given the same seed and start sees the same market.
 */
export class Market {
  readonly #walks = new Map<string, Walk>();
  constructor(
    readonly seed: number,
    readonly t0: number,
  ) {}

  tick(now = Date.now()): number {
    return Math.max(0, Math.floor((now - this.t0) / TICK_MS));
  }

  price(symbol: string, tick = this.tick()): number {
    const spec = specOf(symbol);
    let w = this.#walks.get(symbol);
    if (w === undefined) {
      const next = rng(seedOf(this.seed, symbol));
      w = { next, drift: (next() - 0.5) * TICK_VOL * 0.3, prices: [spec.base] };
      this.#walks.set(symbol, w);
    }
    while (w.prices.length <= tick) {
      const last = w.prices[w.prices.length - 1] as number;
      w.prices.push(last * Math.exp(w.drift + TICK_VOL * gaussian(w.next)));
    }
    return roundTo(w.prices[tick] as number, spec.decimals);
  }
}
