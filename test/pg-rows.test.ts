// rows.ts is pure: a trade record -> a row -> the same record. Besides equality, the records it
// builds must stay in V8's fast property mode: a close finds its trade by reading t.id of every
// record, and records built by a loop of keyed stores (`out[key] = value`, dictionary mode past a
// dozen fields) made that lookup three times slower on a 10,000-trade account. No clock is read:
// the property mode is asked of V8 itself (%HasFastProperties, in a child with --allow-natives-syntax).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { rowToTrade, tradeToRow } from '../src/postgres/rows.js';
import { ROOT } from './helpers.js';
import { goldenClosed } from './trades.js';

/** A row as pg returns it: numeric columns as text. */
function asFetched(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...row };
  for (const [k, v] of Object.entries(out)) if (typeof v === 'number' && k !== 'position') out[k] = String(v);
  return out;
}

describe('rows: a record read back', () => {
  it('is the record written, key order and a field named __proto__ included', () => {
    const t = JSON.parse(
      JSON.stringify({ ...goldenClosed('T007', '2026-03-14T11:28:53.123000+00:00', 12.5, { partial_exits: [{ exit_price: 101, size_closed: 0.5, pnl_usd: 0.5, reason: null, timestamp: '2026-03-14T10:00:00+00:00', extra_key: 1 }] }), z_ext: { b: 1, a: [2] } }).replace('"z_ext"', '"__proto__": {"x": 1}, "z_ext"'),
    ) as Record<string, unknown>;
    const back = rowToTrade(asFetched(tradeToRow(t as never, 6) as never));
    expect(JSON.stringify(back)).toBe(JSON.stringify(t));
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('stays in V8 fast property mode (a close reads t.id of every record)', () => {
    const rows = pathToFileURL(path.join(ROOT, 'dist', 'postgres', 'rows.js')).href;
    const script = `
      const { rowToTrade, tradeToRow } = await import(${JSON.stringify(rows)});
      const t = ${JSON.stringify(goldenClosed('T001', '2026-03-14T11:28:53.123000+00:00', 12.5))};
      const row = tradeToRow(t, 0);
      for (const [k, v] of Object.entries(row)) if (typeof v === 'number' && k !== 'position') row[k] = String(v);
      const back = rowToTrade(row);
      console.log(Object.keys(back).length, %HasFastProperties(back));`;
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [count, fast] = r.stdout.trim().split(' ');
    expect(Number(count)).toBeGreaterThan(16); // enough fields that a keyed-store loop would leave fast mode
    expect(fast).toBe('true');
  });
});
