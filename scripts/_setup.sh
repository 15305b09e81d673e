# Sourced by scripts/demo.sh and scripts/test.sh: makes .venv with the pinned dependencies.
# Re-installs only when pyproject.toml, constraints.txt or the extras changed since the last install.
# FEEDMIX_EXTRAS picks the extras (test.sh: dev,teacher,ray -- the signals teacher needs torch, the Ray
# executor tests a local Ray cluster; the demo: dev).
EXTRAS="${FEEDMIX_EXTRAS:-dev}"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  for cand in python3.11 python3.12 python3.13; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      PY="$cand"; break
    fi
  done
fi
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "feedmix needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "feedmix: creating .venv with $("$PY" --version)" >&2
  "$PY" -m venv .venv
fi
stamp=".venv/.feedmix-install-$( (cat pyproject.toml constraints.txt; echo "$EXTRAS") | "$PY" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')"
if [ ! -f "$stamp" ]; then
  echo "feedmix: installing dependencies into .venv (first run takes a minute)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e ".[$EXTRAS]"
  rm -f .venv/.feedmix-install-*
  touch "$stamp"
fi
