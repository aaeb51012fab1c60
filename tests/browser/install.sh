#!/usr/bin/env bash
# Installs what the browser tests need: Debian's chromium (never Playwright's own browser builds, which cannot be
# downloaded on the closed network). Called from .ci/run; safe to run again. Without root or apt it does nothing,
# and tests/browser skips with a message saying so.
set -u
if command -v chromium >/dev/null 2>&1 && { ! command -v dpkg >/dev/null 2>&1 || dpkg -s fonts-noto-cjk >/dev/null 2>&1; }; then
  echo "browser: $(chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: cannot install chromium (needs root and apt-get); the browser tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null \
  || { echo "browser: apt-get install chromium failed; the browser tests will skip" >&2; exit 0; }
echo "browser: $(chromium --version 2>/dev/null) installed"
