#!/usr/bin/env bash
# The tests' own Python packages, in a virtual environment of the project's (never the system's):
# stix2, OASIS's STIX 2.1 library, reads the bundles DecoyNet writes. Idempotent: installs only what
# is missing. Prints the environment's python.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/python
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import stix2" 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check "stix2==3.0.2" >&2
fi
echo "$PWD/$venv/bin/python"
