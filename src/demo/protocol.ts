/**
 * The line protocol between the demo's child processes and the parent. A
 * child prints human lines ("[scanner] opened T004 ...") and machine lines:
 *   ACK {"op":"open"|"close"|"partial","id":"T004",...}  after the call returned (durable)
 *   REJECT {"code":"POSITION_CAP","symbol":"ETH",...}     a RiskRejectedError
 *   INTENT {"client_id":"scan-1-7","input":{...}}         an open about to be attempted
 *   ERROR {"code":"ELOCKTIMEOUT","message":"..."}         anything unexpected
 * The parent checks every ACK against the log at the end.
 */
import type { OpenInput } from '../index.js';

export interface Ack {
  op: 'open' | 'close' | 'partial';
  id: string;
  symbol: string;
  client_id?: string;
  race?: boolean;
}

export interface Reject {
  code: string;
  symbol: string;
  message: string;
  race?: boolean;
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
  | { kind: 'ERROR'; body: Failed };

const KINDS = new Set(['ACK', 'REJECT', 'INTENT', 'ERROR']);

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
