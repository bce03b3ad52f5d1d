import {
  AccountError,
  DatabaseError,
  ImmutableFieldError,
  MetricsError,
  RiskRejectedError,
  SettingsConflictError,
  SettingsFileError,
  TradeLogCorruptError,
  TradeNotFoundError,
  TradeStateConflictError,
  TradeStateError,
  ValidationError,
} from '../errors.js';
import { CommandRefusedError, UsageError } from './cli-errors.js';

/** How an error is shown and what the process exits with. */
export interface Failure {
  exitCode: 1 | 2;
  /** "rejected", "invalid input", "usage error", "error", "system error", "internal error". */
  label: string;
  code: string;
  message: string;
  /** Machine-readable fields for --json, beside code and message. */
  fields: Record<string, unknown>;
}

/** Library field names as the CLI user typed them, so messages name the flag. */
const FLAG_OF: Readonly<Record<string, string>> = {
  symbol: '--symbol',
  direction: '--direction',
  entry_price: '--entry',
  stop_price: '--stop',
  target_price: '--target',
  size: '--size',
  exit_price: '--exit',
  fraction: '--fraction',
  setup_type: '--setup',
  grade: '--grade',
  notes: '--notes',
  client_id: '--client-id',
  exit_reason: '--reason',
  reason: '--reason',
  lessons: '--lessons',
  startingCapital: '--capital',
  maxPositions: '--max-positions',
  account: '--account',
};

export function classify(err: unknown): Failure {
  if (err instanceof UsageError) {
    const hint = err.command ? `trade-state ${err.command} --help` : 'trade-state --help';
    return { exitCode: 2, label: 'usage error', code: err.code, message: `${err.message} (see ${hint})`, fields: {} };
  }
  if (err instanceof CommandRefusedError) {
    return { exitCode: 1, label: err.label, code: err.code, message: err.message, fields: { ...err.fields } };
  }
  if (err instanceof RiskRejectedError) {
    return { exitCode: 1, label: 'rejected', code: err.code, message: err.message, fields: { ...err.details } };
  }
  if (err instanceof ValidationError) {
    if (err.file !== undefined) {
      // A value of the log's settings file, not of a flag: the message names the file.
      return { exitCode: 1, label: 'invalid input', code: err.code, message: err.message, fields: { field: err.field, value: err.value, option: null, file: err.file } };
    }
    const option = err.field.startsWith('--') ? err.field : FLAG_OF[err.field];
    const message = option && option !== err.field ? `${err.message} (${option})` : err.message;
    return { exitCode: 1, label: 'invalid input', code: err.code, message, fields: { field: err.field, value: err.value, option: option ?? null } };
  }
  if (err instanceof SettingsConflictError) {
    const option = FLAG_OF[err.field] ?? null;
    const message = option ? `${err.message} (${option})` : err.message;
    const fields = { field: err.field, value: err.value, fileValue: err.fileValue, file: err.file, option };
    return { exitCode: 1, label: 'invalid input', code: err.code, message, fields };
  }
  if (err instanceof SettingsFileError) {
    return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields: { file: err.file, key: err.key, reason: err.reason } };
  }
  if (err instanceof TradeNotFoundError) return invalid(err, { id: err.id });
  if (err instanceof TradeStateConflictError) return invalid(err, { id: err.id, status: err.status });
  if (err instanceof ImmutableFieldError) return invalid(err, { field: err.field });
  if (err instanceof TradeLogCorruptError) {
    return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields: { file: err.file, reason: err.reason } };
  }
  if (err instanceof AccountError) return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields: { account: err.account } };
  if (err instanceof MetricsError) return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields: { host: err.host, port: err.port } };
  if (err instanceof DatabaseError) {
    const fields = { account: err.account, sqlstate: err.sqlstate, ...(err.constraint !== null && { constraint: err.constraint }) };
    return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields };
  }
  if (err instanceof TradeStateError) return { exitCode: 1, label: 'error', code: err.code, message: err.message, fields: {} };
  const e = err as NodeJS.ErrnoException | null;
  if (e instanceof Error && typeof e.code === 'string') {
    // EACCES, ENOSPC, EIO…: the environment, not the input; still exit 1 (SPEC: 0/1/2 only).
    const fields: Record<string, unknown> = {};
    if (e.syscall !== undefined) fields.syscall = e.syscall;
    if (e.path !== undefined) fields.path = e.path;
    return { exitCode: 1, label: 'system error', code: e.code, message: e.message, fields };
  }
  const message = e instanceof Error ? e.message : String(err);
  return { exitCode: 1, label: 'internal error', code: 'EINTERNAL', message, fields: {} };
}

function invalid(err: TradeStateError, fields: Record<string, unknown>): Failure {
  return { exitCode: 1, label: 'invalid input', code: err.code, message: err.message, fields };
}

/** The one stderr line. */
export function failureLine(f: Failure): string {
  return `trade-state: ${f.label} (${f.code}): ${f.message}`;
}

/** The --json document; `fields` never override code and message. */
export function failureJson(f: Failure, command: string | null): Record<string, unknown> {
  return { ok: false, command, error: { ...f.fields, code: f.code, message: f.message } };
}
