import path from 'node:path';

import { resolveRules, SETTING_PATHS, type Rules, type SettingPath, type SettingSource, type Settings } from '../../domain/settings.js';
import { readSettingsFile, settingsFileFor } from '../../io/settings-file.js';
import type { Command, CommandResult } from '../command.js';
import type { GlobalOptions } from '../args.js';
import { FLAG_OF_SETTING, settingOptions, whereJson, whereText } from '../backend.js';
import { table } from '../table.js';

export const config: Command = {
  name: 'config',
  summary: "the log's rules in force and where each comes from (its settings file, an option, the default)",
  usage: 'config [--log <path> | --db <url> --account <name>] [--capital <n>] [--max-positions <n>] [--json]',
  help: `Shows every risk setting as a command on this log would apply it, and its
source: "file <path>" (trade-state.json beside the log, the log's rulebook),
"option --flag" (--capital, --max-positions), or "default".

An option may be stricter than the settings file, never looser (--capital must
equal it): a looser one exits 1 with ESETTINGSCONFLICT, here as in every other
command. trade-state init writes a settings file for a new log.

With --db, the account's rulebook (trade_state.accounts.settings, what
trade-state.json is beside a file log) takes the file's place: "account <name>".`,
  options: {},
  async run({ globals }): Promise<CommandResult> {
    if (globals.db !== undefined) return accountConfig(globals);
    const log = path.resolve(globals.log);
    const settingsFile = settingsFileFor(log);
    const file = readSettingsFile(settingsFile);
    const { settings, sources } = resolveRules(settingOptions(globals), file);
    const from = Object.fromEntries(SETTING_PATHS.map((p) => [p, describeSource(p, sources[p])])) as Record<SettingPath, string>;
    const rows = SETTING_PATHS.flatMap((p) => valueRows(p, settings).map(([name, value]) => [name, value, from[p]]));
    const head =
      file === null
        ? `Rules of ${log}: no settings file (${settingsFile}), so the options and the defaults`
        : `Rules of ${log}, from its settings file ${settingsFile} and the options`;
    return {
      json: { log, settings_file: settingsFile, settings_file_exists: file !== null, settings, sources: from },
      text: [head, '', table([{ title: 'SETTING' }, { title: 'VALUE' }, { title: 'FROM' }], rows)].join('\n'),
    };
  },
};

/** The rules of an account: its rulebook takes the settings file's place. */
async function accountConfig(globals: GlobalOptions): Promise<CommandResult> {
  const { accountRules } = await import('../db.js');
  const { rulebook, rules, where } = await accountRules(globals);
  const account = 'account' in where ? where.account : '';
  const { from, rows } = describeRules(rules, `account ${account}`);
  const head =
    rulebook === null
      ? `Rules of ${whereText(where)}: no rulebook, so the options and the defaults`
      : `Rules of ${whereText(where)}, from its rulebook and the options`;
  return {
    json: { ...whereJson(where), rulebook_exists: rulebook !== null, settings: rules.settings, sources: from },
    text: [head, '', table([{ title: 'SETTING' }, { title: 'VALUE' }, { title: 'FROM' }], rows)].join('\n'),
  };
}

function describeRules({ settings, sources }: Readonly<Rules>, fileLabel: string): { from: Record<SettingPath, string>; rows: string[][] } {
  const from = Object.fromEntries(SETTING_PATHS.map((p) => [p, describeSource(p, sources[p], fileLabel)])) as Record<SettingPath, string>;
  const rows = SETTING_PATHS.flatMap((p) => valueRows(p, settings).map(([name, value]) => [name, value, from[p]]));
  return { from, rows };
}

function describeSource(p: SettingPath, s: SettingSource, fileLabel?: string): string {
  if (s.from === 'file') return fileLabel ?? `file ${s.file}`;
  if (s.from === 'option') return `option ${FLAG_OF_SETTING[p as keyof Settings] ?? p}`;
  return 'default';
}

/** One row per value; the correlation groups one row per group, so that a long list stays readable. */
function valueRows(p: SettingPath, s: Readonly<Settings>): [string, string][] {
  if (p === 'correlationGroups') {
    const groups = Object.entries(s.correlationGroups);
    if (groups.length === 0) return [[p, '(none)']];
    return groups.map(([name, symbols]) => [`${p}.${name}`, symbols.join(', ')]);
  }
  if (p.startsWith('drawdownLimits.')) return [[p, String(s.drawdownLimits[p.slice('drawdownLimits.'.length) as keyof Settings['drawdownLimits']])]];
  return [[p, String(s[p as Exclude<keyof Settings, 'correlationGroups' | 'drawdownLimits'>])]];
}
