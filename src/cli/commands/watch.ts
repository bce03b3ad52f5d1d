import type { TradeEvent } from '../../domain/trade-events.js';
import type { Trade } from '../../domain/types.js';
import { plain } from '../../format.js';
import { optionalNumber } from '../args.js';
import type { Command, Context } from '../command.js';
import { openStore, whereText } from '../store.js';

const { price, signedUsd } = plain;

export const watch: Command = {
  name: 'watch',
  summary: 'print every change to the log as it happens (a tail -f for trades)',
  usage: 'watch [--log <path> | --db <url> --account <name>] [--since <seq>] [--json]',
  help: `Prints one line per change any writer makes to the log (open, close, partial,
update, replace), in the log's order, until SIGINT or SIGTERM (exit 0). With
--json, one JSON object per line: {"ok":true,"command":"watch","kind",...,
"trade_id","at","seq","trade"}, the trade record after the change; a problem the
watch survives is a line with "ok":false (text: on stderr) and the watch goes on.

Options:
  --since <seq>   with --db: start after this event (a line's "seq"), e.g. where
                  a notifier that was restarted left off; without it, from now

A file log is looked at when it changes (and every 2 s): a trade changed twice
between two looks is one line with its latest record. With --db every write is
one line, none lost across a dropped connection (docs/observability.md).`,
  options: {
    since: { type: 'string' },
  },
  async run(ctx): Promise<null> {
    const since = optionalNumber(ctx.values, 'since');
    const { store, where } = await openStore(ctx.globals);
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    // `on`, not `once`, until the end (as reconcile: write-file-atomic's signal-exit handler re-raises a signal nobody else listens for).
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      if (!ctx.globals.json) ctx.io.stderr(`trade-state: watching ${whereText(where)}; SIGINT or SIGTERM stops\n`);
      const events = store.watch({
        signal: ac.signal,
        ...(since !== undefined && { since }),
        onError: (err) => announceError(ctx, err),
      });
      if (ctx.globals.json) ctx.io.stdout(`${JSON.stringify({ ok: true, command: 'watch', event: 'started' })}\n`);
      for await (const e of events) ctx.io.stdout(`${ctx.globals.json ? JSON.stringify({ ok: true, command: 'watch', ...e }) : line(e)}\n`);
      if (ctx.globals.json) ctx.io.stdout(`${JSON.stringify({ ok: true, command: 'watch', event: 'stopped' })}\n`);
      else ctx.io.stderr('trade-state: watch stopped\n');
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      if ('tradeLog' in store) store.close();
    }
    return null;
  },
};

function announceError(ctx: Context, err: unknown): void {
  const c = (err as { code?: unknown } | null)?.code;
  const code = typeof c === 'string' ? c : 'EINTERNAL';
  const message = err instanceof Error ? err.message : String(err);
  if (ctx.globals.json) ctx.io.stdout(`${JSON.stringify({ ok: false, command: 'watch', event: 'error', error: { code, message } })}\n`);
  else ctx.io.stderr(`trade-state: watch: error (${code}): ${message}\n`);
}

/** One event as a line: when, what, which trade, and what the change was about. */
function line(e: TradeEvent): string {
  const t = e.trade;
  const head = `${e.at} ${e.kind.padEnd(7)} ${e.trade_id}`;
  if (t === null) return `${head} removed`;
  return `${head} ${t.symbol} ${t.direction} ${detail(e.kind, t)}`;
}

function detail(kind: TradeEvent['kind'], t: Readonly<Trade>): string {
  if (kind === 'close' || t.status === 'CLOSED') return `closed @ ${price(t.exit_price)}: ${signedUsd(t.pnl_usd)}${t.exit_reason ? ` (${t.exit_reason})` : ''}`;
  if (kind === 'partial') {
    const p = t.partial_exits?.[t.partial_exits.length - 1];
    return `${price(p?.size_closed)} off @ ${price(p?.exit_price)}: ${signedUsd(p?.pnl_usd)}, ${price(t.size)} left`;
  }
  const target = t.target_price === null ? '' : ` target ${price(t.target_price)}`;
  return `${price(t.size)} @ ${price(t.entry_price)} stop ${price(t.stop_price)}${target}`;
}
