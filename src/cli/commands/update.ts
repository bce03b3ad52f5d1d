import { ValidationError } from '../../errors.js';
import { plain } from '../../format.js';
import { list, optionalNumber, str } from '../args.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, withIntegrity } from '../store.js';
import { UsageError } from '../cli-errors.js';

const { price } = plain;

export const update: Command = {
  name: 'update',
  summary: 'move a stop or target, or edit notes, grade, setup or extension fields',
  usage: 'update <id> [--stop <price>] [--target <price>] [--notes <text>] [--grade <g>] [--setup <name>] [--set key=<json> ...]',
  help: `Options:
  --stop <price>       new stop; may be moved to or past entry (trailing), > 0,
                       not to or beyond the target
  --target <price>     new target, > 0, on the profit side of entry and beyond the stop
  --notes <text>       replaces notes
  --grade <g>          replaces grade
  --setup <name>       replaces setup_type
  --set key=<json>     any other field the library does not own, as JSON:
                       --set confidence=0.8 --set 'tags=["swing"]' --set 'note_by="bot"'
                       (repeatable; a value starting with "-" needs --set=key=value)

Fields the library owns (id, symbol, size, entry_price, status, exit and P&L
fields, client_id...) change only through open, partial and close.`,
  options: {
    stop: { type: 'string' },
    target: { type: 'string' },
    notes: { type: 'string' },
    grade: { type: 'string' },
    setup: { type: 'string' },
    set: { type: 'string', multiple: true },
  },
  positionals: ['id'],
  async run({ values, args, globals }): Promise<CommandResult> {
    const id = args[0] as string;
    const patch: Record<string, unknown> = {};
    const stop = optionalNumber(values, 'stop');
    const target = optionalNumber(values, 'target');
    if (stop !== undefined) patch.stop_price = stop;
    if (target !== undefined) patch.target_price = target;
    for (const [flag, field] of [['notes', 'notes'], ['grade', 'grade'], ['setup', 'setup_type']] as const) {
      const v = str(values, flag);
      if (v !== undefined) patch[field] = v;
    }
    for (const pair of list(values, 'set')) {
      const [key, value] = parseSet(pair);
      if (Object.hasOwn(patch, key)) throw new UsageError(`update: ${key} is given twice`, 'update');
      patch[key] = value;
    }
    if (Object.keys(patch).length === 0) throw new UsageError('update: nothing to change; give at least one of --stop, --target, --notes, --grade, --setup, --set', 'update');
    const { store, violations } = await openStore(globals);
    const t = await store.updateTrade(id, patch);
    const changes = Object.keys(patch).map((k) => `${k}=${k.endsWith('_price') ? price(t[k]) : JSON.stringify(t[k])}`);
    return withIntegrity({ trade: t, changed: Object.keys(patch) }, `updated ${t.id} ${t.symbol}: ${changes.join(', ')}`, violations);
  },
};

/** "key=<json>": a missing "=" or key is a malformed flag (usage); bad JSON is a bad value. */
function parseSet(pair: string): [string, unknown] {
  const eq = pair.indexOf('=');
  if (eq <= 0) throw new UsageError(`update: --set expects key=<json value>, got ${JSON.stringify(pair)}`, 'update');
  const key = pair.slice(0, eq);
  const raw = pair.slice(eq + 1);
  try {
    return [key, JSON.parse(raw) as unknown];
  } catch {
    throw new ValidationError(`--set ${key}`, raw, `is not a JSON value (quote strings: --set '${key}="text"')`);
  }
}
