export * from './errors.js';
export { FileLock, withLock, type LockOptions, type AsyncLockOptions } from './lock/file-lock.js';
export { TradeStore, type TradeStoreOptions, type IntegrityContext } from './store/trade-store.js';
export { DIAGNOSTICS_CHANNELS, type LockWaitContext, type StoreIdentity, type WriteContext, type WriteOutcome } from './store/diagnostics.js';
export type { Trade, TradeLog, PartialExit, Direction, CorrelationGroups, DrawdownLimits } from './domain/types.js';
export {
  DEFAULT_CORRELATION_GROUPS,
  DEFAULT_DRAWDOWN_LIMITS,
  DEFAULT_SETTINGS,
  resolveSettings,
  type Settings,
  type SettingsInput,
} from './domain/settings.js';
export type { Violation } from './domain/integrity.js';
// store.watch(): every change to the log as an event (docs/observability.md, "Events").
export type { TradeEvent, TradeEventKind } from './domain/trade-events.js';
export type { WatchOptions } from './store/watch.js';
// What "the same symbol" means to the store (trimmed, lower-cased), for bots that compare symbols too.
export { instrumentKey } from './domain/instrument.js';
export type { OpenInput, CloseInput, PartialInput } from './domain/validate.js';
export type { PartialResult } from './domain/trade-ops.js';
// The log against the venue (docs/venue.md): the store's compareVenue and adoptVenue, and the pure comparison.
export {
  compareVenue,
  validateVenuePositions,
  DEFAULT_VENUE_TOLERANCE,
  DEFAULT_VENUE_EXIT_REASON,
  type VenueSide,
  type VenuePosition,
  type DriftKind,
  type DriftItem,
  type VenueDrift,
  type VenueAdoption,
  type CompareOptions,
} from './domain/venue.js';
export { pyRound } from './domain/round.js';
// The formulas the store and the derived files use, for bots that show or act on the same numbers.
export { netPnl, partialPnl, riskPerUnit, initialRiskUsd, rMultipleOf, netR } from './domain/formulas.js';
// The derived files' shape, and the check that they agree with the log (the demo's verdict uses it on the files on disk).
export { checkDerivedInvariants, type DerivedState } from './domain/derive/index.js';
export {
  StateReconciler,
  DERIVED_FILES,
  type ReconcilerOptions,
  type ReconcileResult,
  type ReconcilerStartOptions,
  type HistoryViolation,
  type HistoryViolationKind,
} from './reconcile/state-reconciler.js';
export { HISTORY_FILE as RECONCILER_HISTORY_FILE } from './reconcile/history.js';
// ccxt's unified positions and balances as VenuePositions (pure; the library never loads ccxt).
export {
  fromCcxtPositions,
  fromCcxtBalance,
  venuePositionsFrom,
  type CcxtSymbolMap,
  type CcxtPositionLike,
  type CcxtPositionOptions,
  type CcxtBalanceOptions,
} from './venue/ccxt.js';
