import { ValidationError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "15m", "1h", "500ms", "1.5h" -> milliseconds; anything else names the flag. */
export function parseDuration(flag: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(raw);
  const ms = m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : NaN;
  if (!(ms >= 1 && ms <= 2 ** 31 - 1)) {
    throw new ValidationError(flag, raw, 'is not a duration between 1ms and 24 days, like 30s, 15m or 1h');
  }
  return Math.round(ms);
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
