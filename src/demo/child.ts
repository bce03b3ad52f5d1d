/** What every demo child process shares: its arguments, output, clock and stop flag. */
import { TradeStateError, TradeStore } from '../index.js';
import { demoStoreOptions } from './config.js';
import { emit, parseOrder, type Step } from './protocol.js';

export interface ChildArgs {
  name: string;
  log: string;
  lock: string;
  capital: number;
  seed: number;
  /** The market's tick 0 (epoch ms), the same for every process. */
  t0: number;
}

/** The single argv argument is JSON: no option parsing in processes nobody types by hand. */
export function childArgs<T extends { name: string }>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function storeFor(a: ChildArgs): TradeStore {
  return new TradeStore(demoStoreOptions({ log: a.log, lock: a.lock }, a.capital));
}

export function sayAs(name: string): (text: string) => void {
  return (text) => void process.stdout.write(`[${name}] ${text}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Sleeps until an epoch time, then spins the last couple of ms so that racers start together. */
export async function until(at: number): Promise<void> {
  await sleep(at - Date.now() - 3);
  while (Date.now() < at) {
    /* spin */
  }
}

/**
 * SIGTERM/SIGINT end the loop after the operation in flight, never in the
 * middle of one. So does the end of stdin: the parent holds it open, so it
 * ends when the parent dies, however it dies, and no bot is left orphaned.
 */
export function stopFlag(): () => boolean {
  let stopped = false;
  const stop = (): void => {
    stopped = true;
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop).on('error', stop).resume();
  (process.stdin as { unref?: () => void }).unref?.(); // reading stdin must not keep the process alive
  return () => stopped;
}

/** A PostgreSQL demo host's link to the parent: the stop flag, and the parent's orders read from stdin. */
export interface ParentLink {
  stopped(): boolean;
  /** Waits for the parent to order `step`: true when it did, false when the host was stopped meanwhile. */
  next(step: Step): Promise<boolean>;
}

/**
 * stopFlag, plus the parent's orders ("GO race", one a line on stdin). Call it at the start, before
 * READY is sent: stdin flows from here, and a line arriving with nobody listening would be lost.
 * stdin keeps the process alive only while an order is awaited, and a SIGTERM (or the parent's
 * end) ends that wait too, so that a host is never stuck waiting for an order that cannot come.
 */
export function parentLink(): ParentLink {
  const stdin = process.stdin as NodeJS.ReadStream & { ref?: () => void; unref?: () => void };
  let stopped = false;
  const lines: string[] = [];
  let buf = '';
  let wake: (() => void) | null = null;
  const poke = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stop = (): void => {
    stopped = true;
    poke();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  stdin.setEncoding('utf8');
  stdin.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    poke();
  });
  stdin.on('end', stop).on('error', stop);
  stdin.unref?.();
  return {
    stopped: () => stopped,
    async next(step) {
      stdin.ref?.(); // a pending order must keep the process alive (an idle pool may not)
      try {
        while (lines.length === 0 && !stopped) await new Promise<void>((r) => (wake = r));
      } finally {
        stdin.unref?.();
      }
      if (stopped) return false;
      const line = lines.shift() as string;
      if (parseOrder(line) !== step) throw new TradeStateError('EDEMOPROTOCOL', `expected the parent's order "${step}", got "${line}"`);
      return true;
    },
  };
}

export function reportUnexpected(say: (text: string) => void, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  say(`unexpected error${typeof code === 'string' ? ` (${code})` : ''}: ${message}`);
  emit('ERROR', { code: typeof code === 'string' ? code : null, message });
}
