#!/usr/bin/env bash
# `make test`: every test, the end-to-end ones included. Brings the lab up for them and, if it was
# not running before, takes it down again afterwards, so a test run leaves the machine as it found it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh lab
was_running=no
if scripts/lab.sh status | grep -q "^libvirtd: running"; then was_running=yes; fi
scripts/lab.sh up
if [[ $was_running == no ]]; then trap 'scripts/lab.sh down' EXIT; fi

swift build --build-tests
# The tests' own Python packages (stix2 reads the STIX bundles), in the project's virtual environment.
scripts/python-env.sh >/dev/null
# The forensics tools (Volatility 3, dissect), in the project's own environment for decoynet forensics.
scripts/forensics-env.sh >/dev/null
# The decoy images the end-to-end tests boot: built once, then kept while their recipes are unchanged.
.build/debug/decoynet image build --all
# Unit, golden, CLI and test-driver tests first; then the end-to-end suite on its own: its tests wait
# for real guests for minutes, synchronously, and would hold the other suites' threads meanwhile.
swift test --skip-build --disable-xctest --skip EndToEndTests
# The example topologies' seeds against cloud-init's own schema (in a chroot, never on this machine).
scripts/check-seeds.sh
DECOYNET_LAB=1 swift test --skip-build --disable-xctest --filter EndToEndTests
