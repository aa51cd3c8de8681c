#!/usr/bin/env bash
# One command to set up and run the app (`bash setup.sh run`) or the test suite (`bash setup.sh test`).
# Needs only Python 3.11+; creates .venv, installs pinned requirements, makes data and the model if missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

mode="${1:-run}"
shift || true
case "$mode" in
  run | test | setup) ;;
  *) echo "usage: bash setup.sh [run|test|setup] [extra args for pytest]" >&2; exit 64 ;;
esac

say() { printf '==> %s\n' "$*"; }

find_python() {
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
  return 1
}

PY_BOOT="$(find_python)"
VENV=.venv
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
  say "creating virtual environment in $VENV"
  "$PY_BOOT" -m venv "$VENV"
fi

# Reinstall only when the requirement files change, so repeated runs are quick.
req_files=(requirements.txt)
# Tests also cover the optional Dask engine of `python -m app.cli score`, and check the deploy artifacts.
[ "$mode" = test ] && req_files+=(requirements-dev.txt requirements-dask.txt requirements-deploy.txt)
stamp="$VENV/.installed-$mode"
digest="$(cat "${req_files[@]}" | "$PY" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  # A first install takes a couple of minutes: pip prints one line per package, so progress is visible.
  say "installing ${req_files[*]} (a first run takes a few minutes)"
  "$PY" -m pip install --disable-pip-version-check --progress-bar off --upgrade pip
  pip_args=()
  for file in "${req_files[@]}"; do pip_args+=(-r "$file"); done
  "$PY" -m pip install --disable-pip-version-check --progress-bar off "${pip_args[@]}"
  echo "$digest" > "$stamp"
fi

# System tools the test suite drives for real, installed with apt-get where missing: "command:package" pairs.
# A command is looked up on PATH, then under /usr/lib/postgresql/*/bin (Debian keeps PostgreSQL's tools there). A path (starting with /) must exist.
# Browser tests drive Debian's Chromium through Playwright (Playwright's own download is not used).
# promtool checks /metrics and the alert rules, and prometheus scrapes a live app for the dashboard test;
# redis-server backs the shared rate-limit test; PostgreSQL runs the database tests;
# wrk drives the load tests and benchmarks (a Python load generator on the same cores would take their CPU);
# pdftoppm (with pdftotext and pdfimages) turns the PDF reports into PNG pages and text for their tests;
# openssl makes the self-signed certificate of the live HTTPS test; a CJK font (a file, not a command) lets the report
# charts' test draw Chinese, Japanese and Korean names.
TEST_TOOLS=(chromium:chromium openssl:openssl promtool:prometheus prometheus:prometheus redis-server:redis-server initdb:postgresql wrk:wrk pdftoppm:poppler-utils /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc:fonts-wqy-zenhei)

have_tool() {
  case "$1" in /*) [ -e "$1" ]; return ;; esac
  command -v "$1" >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/$1" >/dev/null 2>&1
}

ensure_test_tools() {
  local missing=() pair
  for pair in "${TEST_TOOLS[@]}"; do
    have_tool "${pair%%:*}" || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    say "installing test tools with apt-get: ${missing[*]}"
    if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; then
      return 0
    fi
  fi
  if [ "${CI:-}" = "true" ]; then
    echo "error: the test suite needs ${missing[*]}, which could not be installed" >&2
    exit 1
  fi
  echo "warning: ${missing[*]} not installed, so the tests that need them will be skipped" >&2
}
[ "$mode" = test ] && ensure_test_tools

# A refused setting stops here with one line each (exit 2), before anything reads the settings.
"$PY" -c 'from app.core.setting_errors import settings_or_exit; settings_or_exit()'

if [ ! -f data/raw/mall_customers.csv ]; then
  say "generating the synthetic dataset"
  "$PY" -m app.models.synthetic
fi

if ! "$PY" -c 'import sys; from app.core.config import get_settings; from app.models.versions.store import model_exists; sys.exit(not model_exists(get_settings().model_dir))'; then
  say "training the default model"
  "$PY" train_model.py
fi

case "$mode" in
  setup)
    say "set-up complete"
    ;;
  run)
    if [ -f main.py ]; then
      say "starting the server (Ctrl-C to stop)"
      exec "$PY" main.py
    fi
    say "model trained; the web server arrives with main.py"
    ;;
  test)
    say "running the test suite"
    exec "$PY" -m pytest "$@"
    ;;
esac
