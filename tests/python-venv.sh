#!/usr/bin/env bash
# python-venv.sh DIR MODULES LABEL: creates DIR/.venv with the pinned DIR/requirements.txt, or
# leaves an up-to-date one alone. Up to date = same requirements.txt (its SHA-256 is stamped
# into the venv) and MODULES (a Python import list) importable. The Python test tools'
# setup-venv.sh scripts call it; .ci/run calls those.
set -euo pipefail
here="$(cd "$1" && pwd)"
modules="$2"
label="$3"
venv="$here/.venv"
requirements="$here/requirements.txt"
stamp="$venv/requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] \
   && "$venv/bin/python" -c "import $modules" 2>/dev/null; then
  echo "$label venv is up to date ($venv)"
  exit 0
fi

# painfree needs Python 3.11 or later; the other tools run on it too.
python=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null \
     && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "no Python 3.11+ with the venv module on PATH (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi

rm -rf "$venv"
install=(install --quiet --disable-pip-version-check --no-input --no-compile -r "$requirements")
# Fast path: a venv without its own pip, filled by the interpreter's pip (`--python`, pip
# 22.3+). Saves the ensurepip run; bytecode is compiled on first import instead.
if "$python" -m pip --python "$python" --version >/dev/null 2>&1; then
  "$python" -m venv --without-pip "$venv"
  "$python" -m pip --python "$venv/bin/python" "${install[@]}"
else
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip "${install[@]}"
fi
"$venv/bin/python" -c "import $modules" && echo "$label installed in $venv"
echo "$wanted" > "$stamp"
