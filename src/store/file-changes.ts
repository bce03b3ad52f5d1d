/**
 * A file log's changes for store.watch() (store/backend.ts `changes`): the file watcher and the stat
 * poll (io/log-watch.ts) say when to look; a look reads the log through the store's log cache
 * (spliced when little changed) and diffs it against the version last seen (domain/trade-events.ts),
 * so that it costs what changed. A file keeps no history: what changed twice between two looks is
 * one event with its latest record, and a watch can only start from the log as it is.
 */
import { diffEvents } from '../domain/trade-events.js';
import type { TradeLog } from '../domain/types.js';
import { ValidationError } from '../errors.js';
import { LogWatch } from '../io/log-watch.js';
import { statVersionSync, type FileVersion } from '../io/read-log.js';
import type { ChangeFeed, ChangeFeedOptions } from './backend.js';

const DEFAULT_POLL_MS = 2000;

/** `read`: the log now, deep-frozen, synchronously (the first is read at this call). */
export function fileChanges(file: string, read: () => TradeLog, options: ChangeFeedOptions): ChangeFeed {
  if (options.since !== undefined) {
    throw new ValidationError('since', options.since, 'is an event_seq of a PostgreSQL store: a file log keeps no events, its watch starts from the log as it is');
  }
  const statNow = (): FileVersion | null | undefined => {
    try {
      return statVersionSync(file);
    } catch {
      return undefined; // the read says why
    }
  };
  // Stat'ed before each read: the poll then wakes only for a version no look has seen.
  let seen = statNow();
  let last = read();
  // Started by the first look (the loop's first step), so that a watch never iterated holds nothing.
  let watch: LogWatch | null = null;
  let closed = false;
  return {
    async pull() {
      if (watch === null && !closed) {
        watch = new LogWatch(file, { pollMs: options.pollMs ?? DEFAULT_POLL_MS, fsWatch: true }, () => seen, options.onChange, options.onError);
        watch.start();
      }
      const version = statNow();
      const next = read();
      seen = version;
      if (!closed) watch?.retry();
      const events = diffEvents(last, next, new Date().toISOString());
      last = next;
      return events;
    },
    async close() {
      closed = true;
      watch?.close();
    },
  };
}
