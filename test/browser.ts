/**
 * Which Chromium the browser tests drive, found in this order:
 *   1. TSE_CHROMIUM, when set (it must exist: a typo is an error, not a fallback);
 *   2. a Chromium or Chrome installed on the system (Debian's chromium, Google Chrome on macOS,
 *      which GitHub's macOS runners have);
 *   3. on Linux x64, the Chromium that the @sparticuz/chromium dev dependency ships inside the npm
 *      package (a fresh machine or a contributor's laptop has no other browser).
 * None of these → null: the test fails, unless TSE_SKIP_BROWSER=1 says this machine can have none.
 */
import fs from 'node:fs';

export interface Browser {
  executablePath: string;
  args: string[];
  /** Where it came from, printed so a run says which browser checked the report. */
  source: string;
}

// Chromium's connections to Google's services are refused on a closed network; these keep it quiet.
const QUIET = ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const SYSTEM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', ...QUIET];

const SYSTEM_BROWSERS: Record<string, string[]> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ],
};

export async function findBrowser(): Promise<Browser | null> {
  const given = process.env.TSE_CHROMIUM;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`TSE_CHROMIUM=${given} does not exist`);
    return { executablePath: given, args: SYSTEM_ARGS, source: `TSE_CHROMIUM (${given})` };
  }
  for (const candidate of SYSTEM_BROWSERS[process.platform] ?? []) {
    if (fs.existsSync(candidate)) return { executablePath: candidate, args: SYSTEM_ARGS, source: `system (${candidate})` };
  }
  if (process.platform === 'linux' && process.arch === 'x64') {
    // the package unpacks its brotli-compressed binary into the temp folder on first use (~1.5 s)
    const { default: packaged } = await import('@sparticuz/chromium');
    const executablePath = await packaged.executablePath();
    return { executablePath, args: [...packaged.args, ...QUIET], source: `@sparticuz/chromium (${executablePath})` };
  }
  return null;
}

export const NO_BROWSER = [
  '',
  '='.repeat(78),
  `  BROWSER MISSING on ${process.platform}-${process.arch}: no TSE_CHROMIUM, no system Chromium or Chrome,`,
  '  and @sparticuz/chromium ships a binary for Linux x64 only. The report was NOT checked in a browser.',
  '  Install Chromium or Chrome, or point TSE_CHROMIUM at one.',
  '  Or, knowingly: TSE_SKIP_BROWSER=1 to skip this test (it then warns instead of failing).',
  '='.repeat(78),
].join('\n');
