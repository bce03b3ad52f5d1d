import type { Trade } from '../domain/types.js';

/**
 * Where each trade's text sits in the bytes of one version of the log:
 * trades[i] is the JSON value in buf[start[i], end[i]). The serializer
 * produces one with every write; the incremental reader derives the next one
 * from it. Both use it to touch only the trades that changed.
 */
export interface Layout {
  readonly trades: readonly Trade[];
  readonly buf: Buffer;
  readonly start: readonly number[];
  readonly end: readonly number[];
  /** Offset of the trades array's '[' and of its ']'. */
  readonly open: number;
  readonly close: number;
}
