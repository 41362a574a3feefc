#!/usr/bin/env bash
# RHVoice (natural Russian voices) lives in Debian's non-free component. This
# adds that component for the Debian archive this machine already uses (a
# separate deb822 file next to the existing one; nothing else is changed) and
# installs RHVoice. Run as root: sudo scripts/enable_rhvoice.sh
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "Run as root: sudo $0" >&2; exit 1; }
SOURCES=/etc/apt/sources.list.d/debian.sources
TARGET=/etc/apt/sources.list.d/debian-non-free.sources
if ! apt-cache policy rhvoice-russian 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  [ -f "$SOURCES" ] || { echo "No $SOURCES: add 'non-free' to the components of your Debian sources by hand." >&2; exit 1; }
  # the first entry (the main archive, not security), its Components replaced by non-free
  awk 'BEGIN { RS = ""; ORS = "\n\n" } NR == 1 { sub(/Components:[^\n]*/, "Components: non-free"); print }' \
    "$SOURCES" > "$TARGET"
  apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rhvoice rhvoice-russian >/dev/null
echo "RHVoice is installed; the voice line uses it from the next start (VOICE_TTS=auto)."
