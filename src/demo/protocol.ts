/**
 * The line protocol between the demo's child processes and the parent. A
 * child prints human lines ("[scanner] opened T004 ...") and machine lines:
 *   ACK {"op":"open"|"close"|"partial"|"update","id":"T004",...}  after the call returned (durable)
 *   REJECT {"code":"POSITION_CAP","symbol":"ETH",...}     a RiskRejectedError
 *   INTENT {"client_id":"scan-1-7","input":{...}}         an open about to be attempted
 *   ERROR {"code":"ELOCKTIMEOUT","message":"..."}         anything unexpected
 *   READY {}                                               connected, waiting for the parent's orders
 *   DONE {"step":"race"}                                   a step the parent ordered is over (its ACKs/REJECTs sent)
 * The parent checks every ACK against the log at the end. The PostgreSQL demo's parent also
 * writes orders to a child's stdin, one a line ("GO race"): its scripted moments start when every
 * host is ready and the previous one is over everywhere, not at a time guessed in advance.
 */
import type { OpenInput } from '../index.js';

/** The PostgreSQL demo's scripted moments: every scanner host opening one symbol at once, then more than the cap. */
export type Phase = 'race' | 'burst';
/** What the parent orders a PostgreSQL demo host to do next: a scripted moment, or the free-running loop. */
export type Step = Phase | 'loop';
const STEPS: ReadonlySet<string> = new Set<Step>(['race', 'burst', 'loop']);

export interface Ack {
  op: 'open' | 'close' | 'partial' | 'update';
  id: string;
  symbol: string;
  client_id?: string;
  race?: boolean;
  phase?: Phase;
}

export interface Reject {
  code: string;
  symbol: string;
  message: string;
  race?: boolean;
  phase?: Phase;
}

export interface Intent {
  client_id: string;
  input: OpenInput;
}

export interface Failed {
  code: string | null;
  message: string;
}

export type Message =
  | { kind: 'ACK'; body: Ack }
  | { kind: 'REJECT'; body: Reject }
  | { kind: 'INTENT'; body: Intent }
  | { kind: 'ERROR'; body: Failed }
  | { kind: 'READY'; body: Record<string, never> }
  | { kind: 'DONE'; body: { step: Step } };

const KINDS = new Set(['ACK', 'REJECT', 'INTENT', 'ERROR', 'READY', 'DONE']);

/** Child side: one synchronous write per line (pipes are synchronous on Linux), so an ACK printed is an ACK sent. */
export function emit<K extends Message['kind']>(kind: K, body: Extract<Message, { kind: K }>['body']): void {
  process.stdout.write(`${kind} ${JSON.stringify(body)}\n`);
}

/** Parent side: a machine line, or null for a human line. */
export function parseMessage(line: string): Message | null {
  const sp = line.indexOf(' ');
  const kind = sp > 0 ? line.slice(0, sp) : '';
  if (!KINDS.has(kind)) return null;
  try {
    return { kind, body: JSON.parse(line.slice(sp + 1)) } as Message;
  } catch {
    return null;
  }
}

/** Parent side: the line ordering a child's next step (written to its stdin). */
export function orderLine(step: Step): string {
  return `GO ${step}\n`;
}

/** Child side: the step a line from the parent orders, or null for anything else. */
export function parseOrder(line: string): Step | null {
  const m = /^GO (\w+)$/.exec(line.trim());
  return m !== null && STEPS.has(m[1] as string) ? (m[1] as Step) : null;
}
