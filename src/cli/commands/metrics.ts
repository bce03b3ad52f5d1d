import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

import { MetricsError, ValidationError } from '../../errors.js';
import { str } from '../args.js';
import type { Command, CommandResult } from '../command.js';
import { openStore, whereJson, whereText } from '../store.js';

/** Prometheus's registered default port for exporters of this kind (the OpenTelemetry exporter's too). */
export const DEFAULT_METRICS_PORT = 9464;

export const metrics: Command = {
  name: 'metrics',
  summary: 'serve Prometheus metrics of the log on /metrics until SIGINT/SIGTERM',
  usage: 'metrics [--log <path> | --db <url> --account <name>] [--port <n>] [--host <address>] [--json]',
  help: `Serves /metrics in Prometheus's text format (trade-state-engine/prometheus) for a
setup without a bot process to host it: trade_state_open_positions, trade_state_equity
and trade_state_drawdown_ratio of the log (or the account), read at each scrape, as
status computes them. The write counters and histograms count the writes of the
process that registers them: register collectMetrics() in the bots for those
(docs/observability.md).
  --port <n>       port to listen on (default ${DEFAULT_METRICS_PORT}; 0: any free port, printed)
  --host <address> address to listen on (default 127.0.0.1: this machine only;
                   0.0.0.0 or :: to let another host scrape)
Needs prom-client (npm install prom-client@15). A port in use exits 1 (EMETRICSPORT).
SIGINT or SIGTERM stops it (exit 0).`,
  options: { port: { type: 'string' }, host: { type: 'string' } },
  async run(ctx): Promise<CommandResult | null> {
    const { io, globals: g } = ctx;
    const port = portOf(str(ctx.values, 'port'));
    const host = str(ctx.values, 'host') ?? '127.0.0.1';
    if (host === '') throw new ValidationError('--host', host, 'must be an address');
    // prom-client first: without it, nothing is opened.
    const { collectMetrics } = await import('../../prometheus/index.js');
    const { store, where } = await openStore(g);
    const handle = collectMetrics({ stores: [store] });
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the metrics are at /metrics\n');
        return;
      }
      handle.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': handle.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${String((err as Error).message ?? err)}\n`),
      );
    });
    const ac = new AbortController();
    const stop = (): void => ac.abort();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
      try {
        await listen(server, port, host);
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        const why = code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not allowed to this user' : `cannot be listened on (${String(code ?? err)})`;
        throw new MetricsError('EMETRICSPORT', `port ${port} on ${host} ${why}: choose another with --port`, { host, port }, { cause: err });
      }
      const bound = (server.address() as AddressInfo).port;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`;
      if (g.json) io.stdout(`${JSON.stringify({ ok: true, command: 'metrics', event: 'listening', url, host, port: bound, ...whereJson(where) })}\n`);
      else io.stderr(`trade-state: serving metrics of ${whereText(where)} on ${url}; SIGINT or SIGTERM stops\n`);
      if (!ac.signal.aborted) await once(ac.signal, 'abort');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (g.json) io.stdout(`${JSON.stringify({ ok: true, command: 'metrics', event: 'stopped' })}\n`);
      else io.stderr('trade-state: metrics stopped\n');
      return null;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      handle.stop();
      // A database store's pool is ended by run.ts's cleanup (db.ts).
      if ('tradeLog' in store) store.close();
    }
  },
};

function portOf(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_METRICS_PORT;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n > 65535) throw new ValidationError('--port', raw, 'must be an integer from 0 to 65535');
  return n;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
