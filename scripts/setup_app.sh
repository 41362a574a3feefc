#!/usr/bin/env bash
# Create .venv: the application (Python ≥ 3.11, aiogram 3, FastAPI, pydantic 2).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP="$VENV/.installed-$(cat pyproject.toml | sha256sum | cut -c1-12)"
[ -f "$STAMP" ] && exit 0
PY=${PYTHON:-python3}
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
echo "Installing the application into $VENV…"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[test,bench]"
touch "$STAMP"
