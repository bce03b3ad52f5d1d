import type { Command, CommandResult } from '../command.js';

export const migrate: Command = {
  name: 'migrate',
  noLog: true,
  database: 'server',
  summary: 'create or upgrade the trade_state schema of a PostgreSQL database (--db)',
  usage: 'migrate --db <url> [--json]',
  help: `Applies the schema migrations the database lacks, each in its own transaction,
under an advisory lock: safe to run from several hosts at once, and again (it
then does nothing). Refuses (exit 1, EDBSCHEMA) a database whose schema is newer
than this version of trade-state-engine. Needs the right to create a schema.
--db may come from TSE_DATABASE_URL; no account is needed.`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    const { migrate: run } = await import('../db.js');
    const r = await run(globals);
    const text =
      r.applied.length === 0
        ? `${r.db}: schema trade_state already at version ${r.version}, nothing to do`
        : `${r.db}: schema trade_state migrated to version ${r.version} (applied ${r.applied.join(', ')})`;
    return { json: { db: r.db, applied: r.applied, schema_version: r.version, latest: r.latest }, text };
  },
};
