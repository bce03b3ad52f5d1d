import fs from 'node:fs';
import path from 'node:path';

import { DERIVED_FILES, type DerivedState } from '../index.js';

/** The derived files as the reconciler left them on disk; null if one is missing or unreadable. */
export function readDerivedState(stateDir: string): DerivedState | null {
  try {
    // portfolio.json -> portfolio, …: the file names are the DerivedState keys
    const entries = DERIVED_FILES.map((f) => [path.basename(f, '.json'), JSON.parse(fs.readFileSync(path.join(stateDir, f), 'utf8'))]);
    return Object.fromEntries(entries) as DerivedState;
  } catch {
    return null;
  }
}
