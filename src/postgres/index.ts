/**
 * trade-state-engine/postgres: the trade log on PostgreSQL, for bots on several hosts sharing one
 * account's risk budget. A subpath of its own, so that a bot using only files never loads a
 * database client; `pg` (node-postgres) is an optional peer dependency, loaded on first use.
 */
export { PostgresTradeStore, type PostgresTradeStoreOptions, type PostgresIntegrityContext } from './store.js';
export { redactConnectionString, type ConnectionOptions } from './options.js';
export { PostgresLogSource, reconcilerFor, type PostgresLogSourceOptions, type PostgresReconcilerOptions } from './source.js';
export { LISTENER_APPLICATION_NAME } from './options.js';
export type { LogSource, SourceReadOptions, SourceSnapshot, SourceWatch } from '../reconcile/source.js';
export { NOTIFY_CHANNEL_PREFIX, SCHEMA, SCHEMA_VERSION } from './schema.js';
export { grantAccount, type GrantAccountOptions, type GrantResult } from './grant.js';
export {
  AccountAccessError,
  AccountError,
  DatabaseError,
  LockTimeoutError,
  OutcomeUnknownError,
  PgMissingError,
  RiskRejectedError,
  StoreClosedError,
  TradeNotFoundError,
  TradeStateConflictError,
  TradeStateError,
  ValidationError,
  type DatabaseErrorCode,
} from '../errors.js';
export { importLog, type ImportLogOptions, type ImportResult } from './import.js';
export { exportAccount, exportLog, type ExportAccountOptions, type ExportedLog, type ExportLogOptions, type ExportResult } from './export.js';
export type { PoolLike, TransferConnectionOptions } from './transfer.js';
export type { TradeEvent, TradeEventKind } from '../domain/trade-events.js';
export type { WatchOptions } from '../store/watch.js';
