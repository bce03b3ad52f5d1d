/**
 * An account's changes for store.watch() (store/backend.ts `changes`). The events table is the
 * cursor: every accepted write call is one row, numbered by event_seq in commit order (the account
 * row is the lock), so a look fetches the rows after the last one handed out and nothing is lost or
 * repeated across a dropped connection or a restarted watcher (`since`). LISTEN/NOTIFY and the
 * version poll (watch.ts, reconnecting with back-off) only say when to look.
 */
import type { ClientConfig } from 'pg';

import { rowEvents, type TradeEvent } from '../domain/trade-events.js';
import type { Trade, TradeLog } from '../domain/types.js';
import type { ChangeFeed, ChangeFeedOptions } from '../store/backend.js';
import type { AccountState, Queryable } from './account-log.js';
import { databaseError, readAgainIfLost } from './connection.js';
import type { WatchedAccount } from './options.js';
import { SCHEMA } from './schema.js';
import { AccountWatch, watchSettings } from './watch.js';

/** What the feed asks of the store's backend. */
export interface ChangesHost {
  readonly account: string;
  pool(): Promise<Queryable>;
  state(): Promise<AccountState>;
}

const VERSION_SQL = `SELECT version FROM ${SCHEMA}.accounts WHERE account = $1`;
// Not the input (it may be large); `at` as ISO 8601 text, microseconds kept.
const EVENTS_SQL = `SELECT event_seq, kind, trade_ids, payload->'result' AS result, payload->'trades' AS trades, to_json(at)#>>'{}' AS at
  FROM ${SCHEMA}.events WHERE account = $1 AND event_seq > $2 ORDER BY event_seq LIMIT 1000`;

interface Row {
  event_seq: string | number;
  kind: string;
  trade_ids: string[];
  result: unknown;
  trades: unknown;
  at: string;
}

export async function accountChanges(host: ChangesHost, listener: ClientConfig, options: ChangeFeedOptions): Promise<ChangeFeed> {
  const feed: AccountChanges = new AccountChanges(host, (): AccountWatch => new AccountWatch(feed, listener, watchSettings({ pollMs: options.pollMs }), options.onChange, options.onError));
  await feed.start(options.since);
  return feed;
}

const EMPTY: TradeLog = Object.freeze({ trades: Object.freeze([]) as unknown as Trade[], next_id: 1 });

function recordsItsTrades(row: Row): boolean {
  const recorded = Array.isArray(row.trades) ? (row.trades as { id?: unknown }[]) : [];
  return row.trade_ids.every((id) => recorded.some((t) => t !== null && typeof t === 'object' && t.id === id));
}

class AccountChanges implements ChangeFeed, WatchedAccount {
  readonly account: string;
  readonly #host: ChangesHost;
  readonly #newWatch: () => AccountWatch;
  /** Started by the first look (the loop's first step), so that a watch never iterated holds no connection. */
  #watch: AccountWatch | null = null;
  /** The event_seq of the last event handed out (the account's version then). */
  #cursor = 0;
  #closed = false;

  constructor(host: ChangesHost, newWatch: () => AccountWatch) {
    this.account = host.account;
    this.#host = host;
    this.#newWatch = newWatch;
  }

  async start(since: number | undefined): Promise<void> {
    this.#cursor = since ?? Math.max(0, await this.version());
  }

  get readVersion(): number {
    return this.#cursor;
  }

  async version(): Promise<number> {
    const r = await this.#query<{ version: string | number }>(VERSION_SQL, [this.account]);
    const row = r.rows[0];
    return row === undefined ? -1 : Number(row.version);
  }

  async pull(): Promise<TradeEvent[]> {
    if (this.#watch === null && !this.#closed) {
      this.#watch = this.#newWatch();
      this.#watch.start();
    }
    const events: TradeEvent[] = [];
    for (;;) {
      const rows = (await this.#query<Row>(EVENTS_SQL, [this.account, this.#cursor])).rows;
      if (rows.length === 0) return events;
      // Only rows that do not record their trades (imports, rows of earlier versions) need the log:
      // read after the rows, it is at least as new as the last of them.
      const log = rows.every(recordsItsTrades) ? EMPTY : (await this.#state()).log;
      for (const r of rows) {
        const seq = Number(r.event_seq);
        events.push(...rowEvents({ seq, operation: r.kind, trade_ids: r.trade_ids, result: r.result, trades: r.trades, at: r.at }, log));
      }
      this.#cursor = Number((rows[rows.length - 1] as Row).event_seq);
      if (rows.length < 1000) return events;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#watch?.close();
  }

  async #query<R>(sql: string, values: unknown[]): Promise<{ rows: R[] }> {
    const pool = await this.#host.pool();
    try {
      return (await readAgainIfLost(() => pool.query(sql, values))) as { rows: R[] };
    } catch (err) {
      throw databaseError(err, this.account);
    }
  }

  async #state(): Promise<AccountState> {
    return this.#host.state();
  }
}
