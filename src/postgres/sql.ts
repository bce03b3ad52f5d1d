/**
 * The statements that write an account, each one round trip: a group of write calls, a change of
 * the rulebook, an import. Each stamps the rows it changes with the account's new version, records
 * one event per call (its op_id is how a lost COMMIT is found, postgres/transaction.ts), and
 * notifies the account's watchers. Each returns the transaction's id (`xid`).
 */
import { ROW_COLUMNS } from './rows.js';
import { NOTIFY_SQL, SCHEMA } from './schema.js';

/** The write statement: the changed rows, the events and the account's counters in one round trip, then a NOTIFY. */
export const WRITE_SQL = `
WITH upserted AS (
  INSERT INTO ${SCHEMA}.trades (account, version, ${ROW_COLUMNS.map(([c]) => c).join(', ')})
  SELECT $1, $2, ${ROW_COLUMNS.map(([c]) => `x.${c}`).join(', ')}
  FROM json_to_recordset($3::json) AS x(${ROW_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})
  ON CONFLICT (account, id) DO UPDATE SET version = EXCLUDED.version, ${ROW_COLUMNS.filter(([c]) => c !== 'id')
    .map(([c]) => `${c} = EXCLUDED.${c}`)
    .join(', ')}
  -- a changed trade stays where it is: a new trade whose id is taken elsewhere updates nothing, and the count below refuses the write
  WHERE ${SCHEMA}.trades.position = EXCLUDED.position
  RETURNING 1
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  SELECT $1, e.event_seq, e.op_id, e.kind, ARRAY(SELECT json_array_elements_text(e.trade_ids)), e.payload
  FROM json_to_recordset($4::json) AS e(event_seq bigint, op_id uuid, kind text, trade_ids json, payload jsonb)
  RETURNING 1
)
UPDATE ${SCHEMA}.accounts SET version = $2, next_id = $5, log_extra = $6::json, log_keys = $7::json, updated_at = now()
WHERE account = $1
RETURNING (SELECT count(*) FROM upserted) AS rows, (SELECT count(*) FROM logged) AS events,
  ${NOTIFY_SQL} AS notified, pg_current_xact_id()::text AS xid`;

/** saveSettings: the rulebook, one event, the version, a NOTIFY. */
export const SETTINGS_SQL = `
WITH bumped AS (
  UPDATE ${SCHEMA}.accounts SET settings = $2::json, version = version + 1, updated_at = now() WHERE account = $1
  RETURNING account, version, notify_token
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  SELECT account, version, $3, 'saveSettings', '{}', jsonb_build_object('input', $2::jsonb, 'result', null) FROM bumped
  RETURNING 1
)
SELECT ${NOTIFY_SQL}, (SELECT count(*) FROM logged) AS events,
  pg_current_xact_id()::text AS xid FROM bumped`;

/** The import statement: every row, the event and the account's counters, then a NOTIFY. */
export const IMPORT_SQL = `
WITH inserted AS (
  INSERT INTO ${SCHEMA}.trades (account, version, ${ROW_COLUMNS.map(([c]) => c).join(', ')})
  SELECT $1, $2, ${ROW_COLUMNS.map(([c]) => `x.${c}`).join(', ')}
  FROM json_to_recordset($3::json) AS x(${ROW_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})
  RETURNING 1
), logged AS (
  INSERT INTO ${SCHEMA}.events (account, event_seq, op_id, kind, trade_ids, payload)
  VALUES ($1, $2, $4::uuid, 'import', ARRAY(SELECT json_array_elements_text($5::json)), $6::jsonb)
  RETURNING 1
)
UPDATE ${SCHEMA}.accounts SET version = $2, rebuilt_at = $2, next_id = $7, log_extra = $8::json, log_keys = $9::json,
  settings = CASE WHEN $10::boolean THEN $11::json ELSE settings END, updated_at = now()
WHERE account = $1
RETURNING (SELECT count(*) FROM inserted)::int AS rows, (SELECT count(*) FROM logged)::int AS events,
  ${NOTIFY_SQL} AS notified, pg_current_xact_id()::text AS xid`;
