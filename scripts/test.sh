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
DECOYNET_LAB=1 swift test --skip-build --disable-xctest
