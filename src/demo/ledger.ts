import type { Ack, Failed, Intent, Message, Reject } from './protocol.js';

/** Everything the children reported, for the verdict and the summary. */
export class Ledger {
  readonly acks: Ack[] = [];
  readonly rejects: Reject[] = [];
  readonly errors: (Failed & { child: string })[] = [];
  /** Per child: the open it announced and has not reported on yet. */
  readonly #inFlight = new Map<string, Intent>();
  #intentListener: ((child: string, intent: Intent) => void) | null = null;

  record(child: string, m: Message): void {
    switch (m.kind) {
      case 'ACK':
        this.acks.push(m.body);
        if (m.body.op === 'open') this.#settle(child, m.body.client_id);
        break;
      case 'REJECT':
        this.rejects.push(m.body);
        this.#inFlight.delete(child);
        break;
      case 'INTENT':
        this.#inFlight.set(child, m.body);
        this.#intentListener?.(child, m.body);
        break;
      case 'ERROR':
        this.errors.push({ ...m.body, child });
        this.#inFlight.delete(child);
        break;
    }
  }

  /** The open `child` announced and never reported on (it was killed in between). */
  inFlight(child: string): Intent | undefined {
    return this.#inFlight.get(child);
  }

  /** Called synchronously on each INTENT line: the moment a child is inside openTrade. */
  onIntent(listener: ((child: string, intent: Intent) => void) | null): void {
    this.#intentListener = listener;
  }

  rejectionsByCode(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.rejects) counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
    return counts;
  }

  race(): { winners: Ack[]; losers: Reject[] } {
    return { winners: this.acks.filter((a) => a.race === true), losers: this.rejects.filter((r) => r.race === true) };
  }

  #settle(child: string, clientId: string | undefined): void {
    if (this.#inFlight.get(child)?.client_id === clientId) this.#inFlight.delete(child);
  }
}
