import { str } from '../args.js';
import { UsageError } from '../cli-errors.js';
import type { Command, CommandResult } from '../command.js';

export const grant: Command = {
  name: 'grant',
  noLog: true,
  database: 'server',
  summary: "give a bot's database role one account of a PostgreSQL database (--db), and nothing else",
  usage: 'grant --db <url> --account <name> --role <role> [--json]',
  help: `Options:
  --role <role>        an existing role (CREATE ROLE bot_main LOGIN PASSWORD '...')

Row-level security (schema version 3) shows a role only the accounts granted to
it: this adds the account to the role's grants, creating the account (empty)
when it does not exist yet, and gives the role the privileges a store, the
reconciler and the report need (no schema changes, no deletes). Run it with the
schema owner's connection (the role that ran migrate). Idempotent. Refuses a
role that does not exist, and one that reaches every account anyway (a
superuser, BYPASSRLS, the tables' owner). docs/postgres.md, "Security".`,
  options: {
    role: { type: 'string' },
  },
  required: ['role'],
  async run({ values, globals }): Promise<CommandResult> {
    if (globals.account === undefined) throw new UsageError('grant: needs --account <name> (or TSE_ACCOUNT): the account to give the role', 'grant');
    const { grant: run } = await import('../db.js');
    const r = await run(globals, str(values, 'role') as string);
    const text =
      `${r.db}: role "${r.role}" ${r.granted ? 'granted' : 'already had'} account "${r.account}"` +
      (r.createdAccount ? ' (account created, empty)' : '');
    return { json: { db: r.db, account: r.account, role: r.role, granted: r.granted, created_account: r.createdAccount }, text };
  },
};
