#!/usr/bin/env bash
# Creates tests/interop-python/.venv with the pinned painfree (requirements.txt), or leaves an
# up-to-date one alone (see ../python-venv.sh). Used by .ci/run; run it by hand before
# `cargo test -p kontor-bank --test it interop_painfree`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../python-venv.sh" "$here" painfree painfree
