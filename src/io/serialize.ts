import type { Trade, TradeLog } from '../domain/types.js';

/**
 * The log's text: what JSON.stringify(log, null, 2) gives (the layout of
 * Python's json.dump(indent=2)) plus a trailing newline. Each trade's text is
 * cached by object identity: the domain never mutates a trade, it replaces
 * the ones it changes, so a write re-serializes only those.
 */
const cache = new WeakMap<object, string>();

function tradeText(t: Trade): string {
  let s = cache.get(t);
  if (s === undefined) {
    s = JSON.stringify(t, null, 2).replace(/\n/g, '\n    ');
    cache.set(t, s);
  }
  return s;
}

export function serializeLog(log: TradeLog): string {
  const parts: string[] = [];
  for (const key of Object.keys(log)) {
    const value = log[key];
    if (value === undefined) continue;
    if (key === 'trades' && Array.isArray(value)) {
      parts.push(value.length === 0 ? '  "trades": []' : `  "trades": [\n    ${(value as Trade[]).map(tradeText).join(',\n    ')}\n  ]`);
    } else {
      parts.push(`  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, '\n  ')}`);
    }
  }
  return parts.length === 0 ? '{}\n' : `{\n${parts.join(',\n')}\n}\n`;
}
