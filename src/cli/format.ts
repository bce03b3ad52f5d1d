/** Text formatting for terminal output: aligned tables and money. */

export type Align = 'left' | 'right';

export interface Column {
  title: string;
  align?: Align;
}

/** Columns padded to their widest cell, two spaces apart, no trailing blanks. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const w = widths[i] ?? 0;
        return c.align === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join('\n');
}

/** 1234.5 -> "1,234.50" */
export function usd(x: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** 12.3 -> "+12.30", -4 -> "-4.00" */
export function signedUsd(x: number): string {
  return `${x > 0 ? '+' : x < 0 ? '-' : ''}${usd(Math.abs(x))}`;
}

export function pct(x: number, digits = 2): string {
  return `${x > 0 ? '+' : ''}${x.toFixed(digits)} %`;
}

/** Prices as the log holds them: no rounding a trader did not ask for. */
export function num(x: unknown): string {
  return typeof x === 'number' ? String(x) : x === null || x === undefined ? '-' : String(x);
}
