#!/bin/sh
# DecoyNet's harmless test sample for forensics: one that stays. It drops a file in its person's
# home and holds a connection to its C&C open (reconnecting whenever it closes) until the host is
# reset or destroyed. Nothing else.
mkdir -p "$HOME/.config/updater"
printf 'decoynet forensics test on %s\n' "$(hostname)" >"$HOME/.config/updater/state.dat"
sync
(while :; do sleep 3600 | nc c2.example.net 4444; sleep 1; done) </dev/null >/dev/null 2>&1 &
