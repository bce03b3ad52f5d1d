/**
 * The database schema, as numbered migrations. `migrate()` applies the ones a database lacks,
 * each in its own transaction under an advisory lock, so two hosts starting at once neither
 * race nor half-apply; it refuses a database whose schema is newer than this library knows.
 *
 * Money and sizes are NUMERIC without a typmod: exact, and a JS double written as its shortest
 * decimal text reads back as the same double. NUMERIC also accepts NaN and ±Infinity, and
 * 'NaN'::numeric sorts above every number, so each finite check is `< 'Infinity'` (refuses NaN
 * and +Infinity) and, where the value may be negative, `> '-Infinity'`.
 *
 * The trades table keeps each record's JSON as the file holds it: typed columns for the fields the
 * library owns or reads, `extra` (json, not jsonb: json keeps key order and the text of numbers)
 * for fields other writers added, and `keys`, the record's key order, so that a record read back
 * is the same JSON object the file store returns — and an export is byte-identical.
 */

import { instrumentKey } from '../domain/instrument.js';
import { DatabaseError } from '../errors.js';

/** The schema name every table lives in. */
export const SCHEMA = 'trade_state';

/**
 * The prefix of each account's NOTIFY channel: every write transaction (and every change of a
 * rulebook) notifies `tse_<accounts.notify_token>` with the account's new version as payload.
 * The token is random and readable only by the roles the account is granted to (row-level
 * security, migration 3): a bot cannot listen to another account, nor learn its name or activity.
 */
export const NOTIFY_CHANNEL_PREFIX = 'tse_';

/** The channel of the account whose notify_token this is (a quoted identifier, for LISTEN). */
export function notifyChannel(token: string): string {
  return `${NOTIFY_CHANNEL_PREFIX}${token}`;
}

/** That notification, over a row of trade_state.accounts (its notify_token and version): the payload is the version alone. */
export const NOTIFY_SQL = `pg_notify('${NOTIFY_CHANNEL_PREFIX}' || notify_token, version::text)`;

/** Advisory lock key of migrate() (any constant: one per database). 0x747365 is "tse". */
export const MIGRATE_LOCK_KEY = 0x747365;

/** What a migration's JavaScript step may run: a client inside the migration's transaction. */
export interface MigrationClient {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /** Run after `sql`, in the same transaction: what only the library can compute (the instrument key). */
  readonly script?: (client: MigrationClient) => Promise<void>;
}

const finite = (col: string): string => `(${col} IS NULL OR (${col} > '-Infinity' AND ${col} < 'Infinity'))`;
const positive = (col: string): string => `(${col} IS NULL OR (${col} > 0 AND ${col} < 'Infinity'))`;
const nonNegative = (col: string): string => `(${col} IS NULL OR (${col} >= 0 AND ${col} < 'Infinity'))`;

/** The fields of a closed trade nobody may change (domain/validate.ts IMMUTABLE_FIELDS, plus stop and target, which mean nothing once closed). */
const FROZEN_COLUMNS = [
  'id', 'position', 'symbol', 'direction', 'status', 'entry_price', 'stop_price', 'original_stop', 'target_price', 'size',
  'original_size', 'entry_time', 'exit_price', 'exit_time', 'exit_reason', 'pnl_usd', 'pnl_pct', 'r_multiple', 'client_id',
] as const;

const V1 = `
CREATE SCHEMA IF NOT EXISTS ${SCHEMA};

-- One row per account: the lock every writer of the account takes (SELECT ... FOR NO KEY UPDATE),
-- and the counters that lock makes gapless.
CREATE TABLE ${SCHEMA}.accounts (
  account     text PRIMARY KEY CHECK (account ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$'),
  -- the log's next_id: the number of the next trade id (T001, T002, ...)
  next_id     bigint NOT NULL DEFAULT 1 CHECK (next_id >= 0),
  -- event_seq of the account's last event: the version a reader compares
  version     bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
  -- the version at which the trades were last replaced as a whole (an import with replace)
  rebuilt_at  bigint NOT NULL DEFAULT 0 CHECK (rebuilt_at >= 0 AND rebuilt_at <= version),
  -- top-level fields of the log other than trades and next_id, and the top level's key order
  log_extra   json NOT NULL DEFAULT '{}',
  log_keys    json NOT NULL DEFAULT '["trades", "next_id"]',
  -- the account's rulebook (what trade-state.json holds beside a file log), json to keep its key
  -- order (an export writes it back as it came); NULL: none
  settings    json CHECK (settings IS NULL OR json_typeof(settings) = 'object'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${SCHEMA}.trades (
  account       text NOT NULL REFERENCES ${SCHEMA}.accounts (account),
  id            text NOT NULL CHECK (id <> ''),
  -- the trade's place in the log's trades array
  position      integer NOT NULL CHECK (position >= 0),
  client_id     text,
  symbol        text NOT NULL CHECK (symbol <> ''),
  direction     text CHECK (direction IN ('LONG', 'SHORT')),
  status        text NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
  entry_price   numeric CHECK ${positive('entry_price')},
  stop_price    numeric CHECK ${nonNegative('stop_price')},
  original_stop numeric CHECK ${nonNegative('original_stop')},
  target_price  numeric CHECK ${nonNegative('target_price')},
  size          numeric CHECK ${nonNegative('size')},
  original_size numeric CHECK ${nonNegative('original_size')},
  entry_time    text,
  exit_price    numeric CHECK ${positive('exit_price')},
  exit_time     text,
  exit_reason   text,
  pnl_usd       numeric CHECK ${finite('pnl_usd')},
  pnl_pct       numeric CHECK ${finite('pnl_pct')},
  r_multiple    numeric CHECK ${finite('r_multiple')},
  setup_type    text,
  grade         text,
  notes         text,
  lessons       text,
  partial_exits json CHECK (partial_exits IS NULL OR json_typeof(partial_exits) = 'array'),
  -- fields other writers added, in their order; and the record's own key order
  extra         json NOT NULL DEFAULT '{}' CHECK (json_typeof(extra) = 'object'),
  keys          json NOT NULL CHECK (json_typeof(keys) = 'array'),
  -- the account version that last changed this row: readers fetch only rows newer than theirs
  version       bigint NOT NULL CHECK (version >= 1),
  PRIMARY KEY (account, id),
  UNIQUE (account, position),
  -- idempotency: one trade per client_id and account (NULLs, trades without a key, are distinct)
  UNIQUE (account, client_id),
  -- what a risk check or a close computes with must be there while the trade is open
  CONSTRAINT open_trade_complete CHECK (
    status <> 'OPEN' OR (direction IS NOT NULL AND entry_price IS NOT NULL AND stop_price IS NOT NULL AND size > 0)
  )
);

-- The backstop of DUPLICATE_SYMBOL: one open trade per symbol and account (by instrument key since version 2).
CREATE UNIQUE INDEX trades_one_open_per_symbol ON ${SCHEMA}.trades (account, symbol) WHERE status = 'OPEN';
CREATE INDEX trades_by_version ON ${SCHEMA}.trades (account, version);

-- Append-only: one row per accepted write, in the transaction of the write.
CREATE TABLE ${SCHEMA}.events (
  account     text NOT NULL REFERENCES ${SCHEMA}.accounts (account),
  event_seq   bigint NOT NULL CHECK (event_seq >= 1),
  -- the call's own id: after a lost COMMIT reply, whether this row exists says whether the call landed
  op_id       uuid NOT NULL UNIQUE,
  kind        text NOT NULL,
  trade_ids   text[] NOT NULL,
  -- the call's input and its result, as returned to the caller
  payload     jsonb NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, event_seq)
);

CREATE FUNCTION ${SCHEMA}.freeze_closed_trades() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'CLOSED' THEN
    IF TG_OP = 'DELETE' THEN
      -- only an import that replaces the account's trades, which says so in its transaction
      IF current_setting('trade_state.replacing_account', true) IS DISTINCT FROM OLD.account THEN
        RAISE EXCEPTION 'trade % of account % is CLOSED: it cannot be deleted', OLD.id, OLD.account
          USING ERRCODE = 'integrity_constraint_violation', HINT = 'closed trades are frozen (trade_state.freeze_closed_trades)';
      END IF;
      RETURN OLD;
    END IF;
    IF ${FROZEN_COLUMNS.map((c) => `NEW.${c} IS DISTINCT FROM OLD.${c}`).join(' OR ')}
       OR NEW.partial_exits::text IS DISTINCT FROM OLD.partial_exits::text THEN
      RAISE EXCEPTION 'trade % of account % is CLOSED: only notes, grade, setup_type, lessons and extension fields may change', OLD.id, OLD.account
        USING ERRCODE = 'integrity_constraint_violation', HINT = 'closed trades are frozen (trade_state.freeze_closed_trades)';
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;

CREATE TRIGGER freeze_closed_trades BEFORE UPDATE OR DELETE ON ${SCHEMA}.trades
  FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.freeze_closed_trades();

CREATE FUNCTION ${SCHEMA}.refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on %.% refused: the table keeps the accounts'' history', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON ${SCHEMA}.events
  FOR EACH ROW EXECUTE FUNCTION ${SCHEMA}.refuse_history_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ${SCHEMA}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${SCHEMA}.refuse_history_change();
CREATE TRIGGER trades_no_truncate BEFORE TRUNCATE ON ${SCHEMA}.trades
  FOR EACH STATEMENT EXECUTE FUNCTION ${SCHEMA}.refuse_history_change();
`;

/**
 * Version 2: one open trade per instrument, not per exact symbol text. The key (domain/instrument.ts)
 * is JavaScript's, not lower(): PostgreSQL's lower() follows the database's collation (under C it
 * lowers ASCII only), so the column is written by the library (rows.ts) and the existing rows are
 * filled here from their distinct symbols, by the same function.
 */
const V2 = `ALTER TABLE ${SCHEMA}.trades ADD COLUMN symbol_key text;`;

const V2_AFTER_FILL = `
ALTER TABLE ${SCHEMA}.trades ALTER COLUMN symbol_key SET NOT NULL;
DROP INDEX ${SCHEMA}.trades_one_open_per_symbol;
-- The backstop of DUPLICATE_SYMBOL: one open trade per instrument (symbol_key) and account.
CREATE UNIQUE INDEX trades_one_open_per_instrument ON ${SCHEMA}.trades (account, symbol_key) WHERE status = 'OPEN';
`;

async function fillSymbolKeys(client: MigrationClient): Promise<void> {
  const symbols = (await client.query(`SELECT DISTINCT symbol FROM ${SCHEMA}.trades`)).rows.map((r) => (r as { symbol: string }).symbol);
  const keys = symbols.map((symbol) => ({ symbol, key: instrumentKey(symbol) }));
  await client.query(
    `UPDATE ${SCHEMA}.trades t SET symbol_key = k.key FROM json_to_recordset($1::json) AS k(symbol text, key text) WHERE t.symbol = k.symbol`,
    [JSON.stringify(keys)],
  );
  // Two open trades on one instrument (an earlier version let "btc" open beside "BTC"): the index
  // cannot be built until one is closed, and closing it is the trader's decision, not a migration's.
  const clashes = (
    await client.query(
      `SELECT account, string_agg(id || ' ' || to_json(symbol)::text, ', ' ORDER BY position) AS trades FROM ${SCHEMA}.trades
       WHERE status = 'OPEN' GROUP BY account, symbol_key HAVING count(*) > 1 ORDER BY account LIMIT 10`,
    )
  ).rows as { account: string; trades: string }[];
  if (clashes.length > 0) {
    throw new DatabaseError(
      'EDBSCHEMA',
      'Migration 2 (one open trade per instrument) cannot apply: these open trades are one instrument each, ' +
        `symbols differing only in case or surrounding blanks: ${clashes.map((c) => `account "${c.account}": ${c.trades}`).join('; ')}. ` +
        'Close all but one of each (with the library version that opened them), then migrate again; nothing was changed',
    );
  }
  await client.query(V2_AFTER_FILL);
}

/** Who may reach an account's rows: a role granted the account (directly or through a role it is a member of). */
const granted = (account: string): string =>
  `EXISTS (SELECT 1 FROM ${SCHEMA}.grants g WHERE g.account = ${account} AND pg_has_role(current_user, g.role::oid, 'MEMBER'))`;

/**
 * Version 3: each bot role reaches only the accounts granted to it (postgres/grant.ts). Row-level
 * security on every table that names an account; the owner of the tables (who runs migrate and
 * grants) is exempt, as PostgreSQL exempts owners unless FORCEd: it is the administrator. The
 * grants table is readable by a role for its own rows only, so a bot cannot list the accounts.
 * `role` is a regrole: a dump restores it by name, and a dropped role's grant matches nobody
 * (pg_has_role on an unknown oid is NULL, where on an unknown name it would fail every query).
 * The NOTIFY channel becomes per account, named by a random token only the granted roles read.
 */
const V3 = `
ALTER TABLE ${SCHEMA}.accounts ADD COLUMN notify_token text NOT NULL
  DEFAULT replace(gen_random_uuid()::text, '-', '') CHECK (notify_token ~ '^[0-9a-f]{32}$');

CREATE TABLE ${SCHEMA}.grants (
  account     text NOT NULL REFERENCES ${SCHEMA}.accounts (account),
  role        regrole NOT NULL,
  granted_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account, role)
);

ALTER TABLE ${SCHEMA}.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_grants ON ${SCHEMA}.grants FOR SELECT USING (pg_has_role(current_user, role::oid, 'MEMBER'));

ALTER TABLE ${SCHEMA}.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_accounts ON ${SCHEMA}.accounts USING (${granted('accounts.account')});
ALTER TABLE ${SCHEMA}.trades ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_trades ON ${SCHEMA}.trades USING (${granted('trades.account')});
ALTER TABLE ${SCHEMA}.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY granted_events ON ${SCHEMA}.events USING (${granted('events.account')});

-- Nothing for anyone but the owner until a grant (grantAccount) says otherwise.
REVOKE ALL ON ALL TABLES IN SCHEMA ${SCHEMA} FROM PUBLIC;
REVOKE ALL ON SCHEMA ${SCHEMA} FROM PUBLIC;
`;

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  { version: 1, description: 'accounts, trades, events; closed trades frozen; events append-only', sql: V1 },
  { version: 2, description: 'trades.symbol_key: one open trade per instrument (symbols compared trimmed, case-folded)', sql: V2, script: fillSymbolKeys },
  { version: 3, description: 'row-level security: each role reaches only the accounts granted to it (grants); one NOTIFY channel per account', sql: V3 },
]);

/** The schema version this library writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The table that records which migrations ran (created by migrate() before anything else). */
export const VERSION_TABLE_SQL = `
CREATE SCHEMA IF NOT EXISTS ${SCHEMA};
CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_version (
  version     integer PRIMARY KEY,
  description text NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now()
);`;
