/** How the demo's lines look: one home for a price on screen and the parent's elapsed-time prefix. */
import { specOf } from './config.js';

/** A price of `symbol` as the demo prints it: the symbol's own decimals (BTC 65000.00, SOL 150.125). */
export function priceText(symbol: string, price: number): string {
  return price.toFixed(specOf(symbol).decimals);
}

/** The parent's `say`: each line after the seconds since `t0`, right-aligned ("  3.2s …"), so a run reads as a timeline. */
export function elapsedSay(print: (line: string) => void, t0: number): (line: string) => void {
  return (line) => print(`${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s ${line}`);
}
