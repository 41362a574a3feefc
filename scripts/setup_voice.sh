#!/usr/bin/env bash
# Russian speech synthesis for the voice line (Debian packages): Festival with
# its Russian voice (main) always; RHVoice, the more natural one, when the
# non-free component is enabled (scripts/enable_rhvoice.sh does that).
# Without root: says what to install and goes on (the line then speaks with
# espeak-ng, or — with no synthesizer at all — says in the log why it is off).
set -euo pipefail
festival_ru() { command -v festival >/dev/null && [ -d /usr/share/festival/voices/russian/msu_ru_nsh_clunits ]; }
missing=()
festival_ru || missing+=(festival festvox-ru)
if ! command -v RHVoice-test >/dev/null && command -v apt-cache >/dev/null \
   && apt-cache policy rhvoice-russian 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  missing+=(rhvoice rhvoice-russian)  # offered only where non-free is enabled
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing the voice line's Russian speech: ${missing[*]} (Debian packages)…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "WARNING: ${missing[*]} not installed: the voice line will speak with espeak-ng (robotic)." >&2
  echo "         Install with: sudo apt-get install ${missing[*]}" >&2
fi
