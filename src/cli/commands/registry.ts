import type { Command } from '../command.js';

/**
 * Every command by name, each module imported only when that command runs. A
 * cron `status` or `reconcile` pays for its own imports and nothing else:
 * importing all of them pulled the store and its native addon, the reconciler,
 * the demo and every formatter into each run, whichever command it was.
 * test/cli-cold-load.test.ts keeps the cold commands from loading the report.
 */
export interface CommandEntry {
  readonly name: string;
  load(): Promise<Command>;
}

export const REGISTRY: readonly CommandEntry[] = [
  { name: 'status', load: async () => (await import('./status.js')).status },
  { name: 'open', load: async () => (await import('./open.js')).open },
  { name: 'close', load: async () => (await import('./close.js')).close },
  { name: 'partial', load: async () => (await import('./partial.js')).partial },
  { name: 'update', load: async () => (await import('./update.js')).update },
  { name: 'verify', load: async () => (await import('./verify.js')).verify },
  { name: 'venue', load: async () => (await import('./venue.js')).venue },
  { name: 'watch', load: async () => (await import('./watch.js')).watch },
  { name: 'reconcile', load: async () => (await import('./reconcile.js')).reconcile },
  { name: 'report', load: async () => (await import('./report.js')).report },
  { name: 'metrics', load: async () => (await import('./metrics.js')).metrics },
  { name: 'config', load: async () => (await import('./config.js')).config },
  { name: 'init', load: async () => (await import('./init.js')).init },
  { name: 'migrate', load: async () => (await import('./migrate.js')).migrate },
  { name: 'grant', load: async () => (await import('./grant.js')).grant },
  { name: 'export', load: async () => (await import('./export.js')).exportCommand },
  { name: 'import', load: async () => (await import('./import.js')).importCommand },
  { name: 'demo', load: async () => (await import('./demo.js')).demo },
];

export const COMMAND_NAMES: readonly string[] = REGISTRY.map((c) => c.name);
