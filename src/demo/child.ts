/** What every demo child process shares: its arguments, output, clock and stop flag. */
import { TradeStore } from '../index.js';
import { demoStoreOptions } from './config.js';
import { emit } from './protocol.js';

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
export function childArgs<T extends ChildArgs>(): T {
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

export function reportUnexpected(say: (text: string) => void, err: unknown): void {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  say(`unexpected error${typeof code === 'string' ? ` (${code})` : ''}: ${message}`);
  emit('ERROR', { code: typeof code === 'string' ? code : null, message });
}
