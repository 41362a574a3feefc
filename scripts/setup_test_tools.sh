#!/usr/bin/env bash
# Tools the end-to-end tests drive for real: the Telegram Bot API emulator
# (npm), headless Chromium and espeak-ng, RHVoice as the spoken tests' caller, and Redis Cluster / Sentinel
# (redis-server, redis-sentinel, redis-cli) for tests/test_store_topologies.py
# (Debian packages; their services are not started: the tests start their own).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} (Debian packages)…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "WARNING: ${missing[*]} not installed; the tests that need them will be skipped." >&2
    echo "         Install with: sudo apt-get install ${missing[*]}" >&2
  fi
fi
# The spoken tests call with RHVoice when it can be had (Debian non-free, scripts/enable_rhvoice.sh):
# a natural voice, as real callers are; Festival's robotic one is their fallback.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v RHVoice-test >/dev/null; then
  scripts/enable_rhvoice.sh || echo "WARNING: RHVoice not installed; the spoken tests call with Festival's voice." >&2
fi
if [ -f tests/emulator/package.json ] && [ ! -d tests/emulator/node_modules ]; then
  (cd tests/emulator && npm ci --silent --no-audit --no-fund)
fi
