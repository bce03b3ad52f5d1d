import { TradeStateError, type ErrorCode } from '../errors.js';

/**
 * The command line itself is wrong (unknown command or option, missing
 * required option, malformed flag): exit code 2. Bad values of well-formed
 * options are ValidationErrors instead (exit 1), as the library reports them.
 */
export class UsageError extends TradeStateError {
  /** The command whose help to point at, if known. */
  readonly command: string | null;
  constructor(message: string, command: string | null = null) {
    super('EUSAGE', message);
    this.command = command;
  }
}

/** A command that ran and said no (a refused reconcile): exit 1, shown as "<label> (<code>): message". */
export class CommandRefusedError extends TradeStateError {
  readonly label: string;
  readonly fields: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, label: string, message: string, fields: Record<string, unknown> = {}) {
    super(code, message);
    this.label = label;
    this.fields = fields;
  }
}
