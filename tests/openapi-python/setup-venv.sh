#!/usr/bin/env bash
# Creates tests/openapi-python/.venv with the pinned OpenAPI validator and client generator
# (requirements.txt), or leaves an up-to-date one alone (see ../python-venv.sh). Used by
# .ci/run; run it by hand before `cargo test -p kontor-daemon --test it generated_python_client`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../python-venv.sh" "$here" "openapi_spec_validator, openapi_python_client" "OpenAPI tools"
