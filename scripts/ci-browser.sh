#!/usr/bin/env bash
# Installs Debian's chromium for test/report-browser.test.ts, once: does
# nothing when the browser is already there. Runs apt-get as root, or through
# sudo when not root. Exits non-zero (and says why) when it cannot install,
# so CI fails here rather than in a test that cannot see a browser.
set -euo pipefail

CHROMIUM="${TSE_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
  echo "ci-browser: $CHROMIUM already installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ci-browser: $CHROMIUM is missing and apt-get is not available; install chromium by hand" >&2
  echo "ci-browser: or set TSE_SKIP_BROWSER=1 to skip the browser test knowingly" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "ci-browser: not root and no sudo: cannot apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "ci-browser: installing chromium with apt-get (a minute or two)"
# the package lists may be stale or absent on a fresh machine: update first, once more on failure
${SUDO[@]+"${SUDO[@]}"} apt-get update -qq || { sleep 5; ${SUDO[@]+"${SUDO[@]}"} apt-get update -qq; }
${SUDO[@]+"${SUDO[@]}"} apt-get install -y -qq chromium >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ci-browser: apt-get finished but $CHROMIUM does not exist" >&2
  exit 1
fi
# the Debian wrapper may print shell noise on stderr; the version line is what matters
echo "ci-browser: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
