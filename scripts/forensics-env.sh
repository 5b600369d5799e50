#!/usr/bin/env bash
# The forensics tools (decoynet forensics): Volatility 3 reads memory images, Fox-IT's dissect reads
# qcow2 chains and ext4 without mounting anything. They go into a Python environment of the
# project's own, never the system's: /var/lib/decoynet/forensics/python (DECOYNET_FORENSICS_STATE
# moves it). Idempotent: installs only when forensics/requirements.txt changed since the last
# install. Prints the environment's python.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${DECOYNET_FORENSICS_STATE:-/var/lib/decoynet/forensics}
venv=$state/python
requirements=forensics/requirements.txt
stamp=$venv/.requirements.sha256
wanted=$(sha256sum "$requirements" | cut -d' ' -f1)
if [[ -x $venv/bin/python && -f $stamp && $(cat "$stamp") == "$wanted" ]]; then
    echo "$venv/bin/python"
    exit 0
fi
# Debian's python3 with its venv module (scripts/install-deps.sh installs python3-venv), not
# whichever python3 comes first in PATH.
mkdir -p "$state"
if [[ ! -x $venv/bin/python ]]; then
    /usr/bin/python3 -m venv "$venv" >&2
fi
echo "forensics-env: installing $(grep -v '^#' "$requirements" | tr '\n' ' ')" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
# Checked as it will be used: the two tools import.
"$venv/bin/python" -c "import volatility3.framework, dissect.extfs, dissect.hypervisor" >&2
echo "$wanted" >"$stamp"
echo "$venv/bin/python"
