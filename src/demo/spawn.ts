import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { ChildArgs } from './child.js';
import { parseMessage, type Message } from './protocol.js';

export interface DemoChild {
  name: string;
  proc: ChildProcess;
  /** Writes one line to the child's stdin (the PostgreSQL demo's orders); a child already gone is noticed by its exit, not here. */
  tell(line: string): void;
  /** Resolves once the process exited and its output was read to the end. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Whether it has written a line yet: before that it is still loading, its signal handlers not set. */
  spoke(): boolean;
}

export interface ChildSinks {
  /** A machine line (ACK, REJECT, INTENT, ERROR). */
  message(child: string, m: Message): void;
  /** A human line, stdout or stderr, to show. */
  print(line: string): void;
}

/** The demo's child scripts, under dist/demo/. */
export type ChildScript = 'scanner' | 'monitor' | 'racer' | 'postgres/host-scanner' | 'postgres/host-monitor';

/** Starts dist/demo/<script>.js with this very node binary, the library as a user would use it. */
export function startChild(script: ChildScript, args: Pick<ChildArgs, 'name'> & Record<string, unknown>, sinks: ChildSinks): DemoChild {
  const file = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
  // stdin stays open and unused: its end tells the child that the parent is gone
  const proc = spawn(process.execPath, [file, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
  proc.stdin?.on('error', () => {}); // EPIPE when writing to a child that died: its exit says so
  let spoke = false;
  const outDone = lines(proc.stdout, (line) => {
    spoke = true;
    const m = parseMessage(line);
    if (m) sinks.message(args.name, m);
    else sinks.print(line);
  });
  const errDone = lines(proc.stderr, (line) => sinks.print(`[${args.name}] stderr: ${line}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    proc.on('error', (err) => {
      sinks.print(`[${args.name}] could not start: ${err.message}`);
      resolve({ code: null, signal: null });
    });
  });
  const done = Promise.all([exited, outDone, errDone]).then(([e]) => e);
  const tell = (line: string): void => {
    if (proc.stdin !== null && proc.stdin.writable) proc.stdin.write(line);
  };
  return { name: args.name, proc, tell, done, spoke: () => spoke };
}

/** Calls `onLine` for each complete line; resolves at end of stream. */
function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): Promise<void> {
  if (stream === null) return Promise.resolve();
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  return new Promise((resolve) =>
    stream.on('end', () => {
      if (buf !== '') onLine(buf);
      resolve();
    }),
  );
}
