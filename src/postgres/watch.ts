/**
 * The watch of an account's log (PostgresLogSource.watch, source.ts): what wakes a reconciler in
 * watch mode. It wakes on two things, because either alone misses writes:
 * - LISTEN on the account's own channel (schema.ts notifyChannel: named by the account's random
 *   notify_token, which only roles granted the account can read) on a client of its own (not the
 *   pool's: a pooled client is handed to other queries and LISTEN is per session). Every write
 *   transaction sends the account's new version. An account created after the watch started is
 *   listened to once it exists (looked for with back-off, and at every poll).
 * - a poll of the account's version every pollMs: a NOTIFY sent while the listener is
 *   disconnected is lost for good, and PgBouncer in transaction mode delivers none at all.
 * The listener reconnects with back-off, and on every (re)connect checks the version at once.
 * After an outage (a lost listener, a failed poll) the first check signals even an unchanged
 * version: a restored server may be back at the version last read with other content, which only
 * a read tells (account-log.ts).
 */
import type { Client, ClientConfig } from 'pg';

import { ValidationError } from '../errors.js';
import { databaseError, loadPg } from './connection.js';
import { LISTENER_APPLICATION_NAME, type ConnectionOptions, type WatchedAccount } from './options.js';
import { notifyChannel, SCHEMA } from './schema.js';

const DEFAULT_POLL_MS = 3000;
const DEFAULT_RECONNECT_MS = 250;
const MAX_RECONNECT_MS = 30_000;

/** The watch options of PostgresLogSourceOptions, checked, with their defaults. */
export interface WatchSettings {
  pollMs: number;
  listen: boolean;
  reconnectMs: number;
}

/** PostgresLogSourceOptions' pollMs, listen and reconnectMs, checked (ValidationError naming the option). */
export function watchSettings(options: { pollMs?: unknown; listen?: unknown; reconnectMs?: unknown }): WatchSettings {
  const pollMs = positive('pollMs', options.pollMs, DEFAULT_POLL_MS, true);
  const reconnectMs = positive('reconnectMs', options.reconnectMs, DEFAULT_RECONNECT_MS, false);
  if (options.listen !== undefined && typeof options.listen !== 'boolean') throw new ValidationError('listen', options.listen, 'must be a boolean');
  return { pollMs, listen: options.listen ?? true, reconnectMs };
}

/** The listener client's configuration: the connection's, without the pool's own settings, named for pg_stat_activity. */
export function listenerConfig(options: ConnectionOptions): ClientConfig {
  const { max: _max, idleTimeoutMillis: _idle, ...client } = { ...options.pool } as Record<string, unknown>;
  return {
    ...(options.connectionString !== undefined && { connectionString: options.connectionString }),
    // an unreachable host must not hold close() (which waits for a connect in flight) for minutes
    connectionTimeoutMillis: 10_000,
    ...client,
    application_name: LISTENER_APPLICATION_NAME,
  } as ClientConfig;
}

/** One watch: the listener client with its reconnects, and the poll timer. */
export class AccountWatch {
  readonly #source: WatchedAccount;
  readonly #config: ClientConfig;
  readonly #options: WatchSettings;
  readonly #onChange: () => void;
  readonly #onError: (err: unknown) => void;
  #closed = false;
  #client: Client | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #delay: number;
  #poll: NodeJS.Timeout | null = null;
  /** The last version a change was signalled for: a poll does not signal it again while a cycle catches up. */
  #signalled = -1;
  /** A failing poll is reported once per outage, not every pollMs. */
  #pollFailing = false;
  /** The same for the listener: its loss is reported, not every failed reconnect after it. */
  #listenFailing = false;
  #checking = false;
  /** An outage was seen since the last check: the next one signals whatever the version. */
  #resync = false;
  /** The channel the listener LISTENs on; null: not yet (no listener, or no account when it connected). */
  #channel: string | null = null;
  /** While the account does not exist (no token to listen to): the next look for it. */
  #listenTimer: NodeJS.Timeout | null = null;
  /** In flight (connect, check): awaited by close() so that no handle outlives it. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    source: WatchedAccount,
    config: ClientConfig,
    options: WatchSettings,
    onChange: () => void,
    onError: (err: unknown) => void,
  ) {
    this.#source = source;
    this.#config = config;
    this.#options = options;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#delay = options.reconnectMs;
  }

  start(): void {
    if (Number.isFinite(this.#options.pollMs)) this.#poll = setInterval(() => this.#check(), this.#options.pollMs);
    if (this.#options.listen) this.#track(this.#connect());
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll !== null) clearInterval(this.#poll);
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    if (this.#listenTimer !== null) clearTimeout(this.#listenTimer);
    this.#poll = null;
    this.#reconnect = null;
    const client = this.#client;
    this.#client = null;
    if (client !== null) await client.end().catch(() => {});
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #signal(version: number): void {
    if (this.#closed) return;
    this.#signalled = version;
    this.#onChange();
  }

  /** Signals a change when the account's version is not the one last read (nor one already signalled). */
  #check(): void {
    if (this.#closed || this.#checking) return;
    this.#checking = true;
    this.#track(
      this.#source.version().then(
        (v) => {
          this.#checking = false;
          this.#pollFailing = false;
          const resync = this.#resync;
          this.#resync = false;
          if (resync || (v !== this.#source.readVersion && v !== this.#signalled)) this.#signal(v);
          if (v >= 0 && this.#channel === null && this.#client !== null) this.#track(this.#listen(this.#client).catch(() => {})); // a lost client reconnects and listens then
        },
        (err: unknown) => {
          this.#checking = false;
          // After the outage, the version is signalled again even if it was before: the cycle it
          // woke probably failed to read as well.
          this.#signalled = -1;
          this.#resync = true;
          if (this.#pollFailing || this.#closed) return;
          this.#pollFailing = true;
          this.#onError(err);
        },
      ),
    );
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let client: Client;
    try {
      const pg = await loadPg();
      client = new pg.Client(this.#config);
    } catch (err) {
      this.#onError(err);
      return; // pg missing: nothing to retry
    }
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = null;
      client.end().catch(() => {});
      if (this.#closed) return;
      this.#resync = true;
      if (err !== undefined && !this.#listenFailing) this.#onError(databaseError(err, this.#source.account));
      this.#listenFailing = true;
      this.#scheduleReconnect();
    };
    // Without a listener an 'error' (the server went away) would be thrown and kill the process.
    client.on('error', (err) => onLost(err));
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== this.#channel || msg.payload === undefined) return;
      const version = Number(msg.payload);
      if (version !== this.#source.readVersion) this.#signal(version);
    });
    try {
      await client.connect();
      this.#channel = null;
      await this.#listen(client);
    } catch (err) {
      onLost(err);
      return;
    }
    if (this.#closed || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    if (this.#listenTimer !== null) clearTimeout(this.#listenTimer); // a lost client's look
    this.#listenTimer = null;
    if (this.#channel === null) this.#listenLater(client, this.#options.reconnectMs);
    this.#delay = this.#options.reconnectMs;
    this.#listenFailing = false;
    // Writes made while no one listened sent notifications nobody received: a difference from
    // the version last read is signalled, even one signalled before the connection was lost.
    this.#signalled = -1;
    this.#check();
  }

  /** LISTEN on the account's channel, when the account exists (its row holds the token). */
  async #listen(client: Client): Promise<void> {
    const r = await client.query<{ token: string }>(`SELECT notify_token AS token FROM ${SCHEMA}.accounts WHERE account = $1`, [this.#source.account]);
    const token = r.rows[0]?.token;
    if (token === undefined || this.#channel !== null) return;
    const channel = notifyChannel(token);
    await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    this.#channel = channel;
  }

  /**
   * An account created after the listener connected has a channel nobody knew: looked for again
   * with back-off (even without a poll), and once listened to, its version checked, since the
   * write that created it notified no one.
   */
  #listenLater(client: Client, delay: number): void {
    if (this.#closed || this.#channel !== null || this.#client !== client || this.#listenTimer !== null) return;
    this.#listenTimer = setTimeout(() => {
      this.#listenTimer = null;
      if (this.#closed || this.#client !== client) return;
      this.#track(
        this.#listen(client).then(
          () => (this.#channel === null ? this.#listenLater(client, Math.min(delay * 2, MAX_RECONNECT_MS)) : this.#check()),
          () => {}, // a lost client reconnects and listens then
        ),
      );
    }, delay);
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnect !== null) return;
    const delay = this.#delay;
    this.#delay = Math.min(delay * 2, MAX_RECONNECT_MS);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      this.#track(this.#connect());
    }, delay);
  }
}

function positive(name: string, value: unknown, fallback: number, infinite: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0 || (!infinite && !Number.isFinite(value))) {
    throw new ValidationError(name, value, infinite ? 'must be a number > 0 (Infinity: never)' : 'must be a finite number > 0');
  }
  return value;
}

