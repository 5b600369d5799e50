#!/usr/bin/env bash
# Benchmark: the server under a classroom of 30 students at once, and one of them attacking it.
# On libvirt's test:///default driver, 30 copies of a 4-host topology, each given to a student who
# signs in by their link. For SECONDS (default 30) each student polls their copy's status every
# second, opens their console's page and their evidence page now and then, and downloads a 16 MiB
# evidence file of their own at 4 MiB/s; that is measured twice in one run:
#   quiet     the 30 students only
#   attacked  the same, while student 01 sends the worst validation it can (a generator named a
#             hundred times, billions of names once searched), as fast as the server answers
# It prints each phase's status calls (count, p50, p99, worst, failures) and the attacked p99 over
# the quiet one, with what the attacker got back (its answers by HTTP status).
#   benchmarks/tenants.sh [SECONDS]; BIN=.build/debug/decoynet measures another build (ratios only).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
students=30
bin=${BIN:-.build/release/decoynet}
[[ -x $bin ]] || { echo "tenants.sh: build it first: swift build -c release --product decoynet (or BIN=...)" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/class.yaml" <<'YAML'
name: class
networks:
  lan: { cidr: 10.88.1.0/24, gateway: gw }
  dmz: { cidr: 10.88.2.0/24, gateway: gw }
defaults:
  health: { timeout: 20s, probes: [running] }
  disk: 1GiB
hosts:
  gw:
    template: tiny
    interfaces:
      - { network: lan, address: 10.88.1.254 }
      - { network: dmz, address: 10.88.2.254 }
  web: { template: tiny, interfaces: [{ network: dmz }] }
  ws: { template: tiny, count: 2, interfaces: [{ network: lan }] }
YAML

"$bin" serve --connect test:///default --listen 127.0.0.1:0 --data "$work/data" 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do grep -q "listening on" "$work/server.log" && break; sleep 0.1; done
base=$(grep -o "http://127.0.0.1:[0-9]*" "$work/server.log" | head -1)
[[ -n $base ]] || { echo "tenants.sh: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
admin=(-H "Authorization: Bearer $(cat "$work/data/admin.token")")

curl -sf "${admin[@]}" --data-binary @"$work/class.yaml" -H "Content-Type: application/yaml" "$base/api/v1/environments" >/dev/null
names=$(for i in $(seq -w 1 $students); do printf '"s%s",' "$i"; done)
curl -sf "${admin[@]}" -H "Content-Type: application/json" -d "{\"count\": $students, \"students\": [${names%,}]}" \
    "$base/api/v1/environments/class/copies" >"$work/copies.json"
job=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$work/copies.json")
while :; do
    state=$(curl -sf "${admin[@]}" "$base/api/v1/jobs/$job" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $state in
        succeeded) break ;;
        queued | running) sleep 0.5 ;;
        *) echo "tenants.sh: building the copies ended $state" >&2; exit 1 ;;
    esac
done

# Each student signs in by their link (the button's POST), and has an evidence folder of their own.
python3 -c '
import json, sys
for copy in json.load(open(sys.argv[1]))["copies"]:
    print(copy["environment"], copy["student"], copy["link"])' "$work/copies.json" >"$work/students"
while read -r copy student link; do
    curl -s -o /dev/null -c "$work/$student.jar" -X POST "$link"
    folder=$work/data/evidence/$copy-20261204T101010Z
    mkdir -p "$folder/ws-01"
    head -c $((16 << 20)) /dev/urandom >"$folder/ws-01/overlay.qcow2"
    (cd "$folder" && sha256sum ws-01/overlay.qcow2 >SHA256SUMS)
    printf '{"environment":"%s","topologyDigest":"sha256:0","created":"2026-12-04T10:10:10Z","tool":"decoynet","hosts":[],"captures":[]}' "$copy" >"$folder/manifest.json"
done <"$work/students"
signed=$(grep -l "decoynet_session\|session" "$work"/s*.jar 2>/dev/null | wc -l)
echo "30 copies of class on test:///default, $signed students signed in by their links"

# One student: status every second (its time recorded), now and then a page or a download.
student_loop() { # COPY STUDENT OUT
    local copy=$1 student=$2 out=$3 round=0
    local jar=$work/$student.jar
    while :; do
        curl -s -o /dev/null -b "$jar" -w "%{http_code} %{time_total}\n" "$base/api/v1/environments/$copy/status" >>"$out"
        round=$((round + 1))
        case $((round % 10)) in
            3) curl -s -o /dev/null -b "$jar" "$base/environments/$copy/hosts/ws-01/console" ;;
            6) curl -s -o /dev/null -b "$jar" "$base/environments/$copy/evidence" ;;
            9) curl -s -o /dev/null -b "$jar" --limit-rate 4M "$base/api/v1/environments/$copy/evidence/$copy-20261204T101010Z/file?path=ws-01/overlay.qcow2" & ;;
        esac
        sleep 1
    done
}

attacker_loop() { # OUT: student 01 attacks
    local jar=$work/s01.jar
    python3 - "$work/bomb.yaml" <<'PY'
import sys
people = "people: [&g { generate: 10000 }" + ", *g" * 100 + "]\n"
text = open(sys.argv[1].replace("bomb.yaml", "class.yaml")).read().replace("networks:\n", people + "networks:\n", 1)
open(sys.argv[1], "w").write(text)
PY
    # The form's CSRF token comes with the signed-in pages.
    local csrf
    csrf=$(curl -s -b "$jar" "$base/environments" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="\([0-9a-f]*\)"/\1/')
    # Again as soon as it is answered; after a refusal (429) a fifth of a second, so that what is
    # measured is the server, not this machine forking curl as fast as it can.
    local code
    while :; do
        code=$(curl -s -o /dev/null -b "$jar" -H "X-CSRF-Token: $csrf" -H "Content-Type: application/yaml" --data-binary @"$work/bomb.yaml" \
            -w "%{http_code}" "$base/api/v1/validate")
        echo "$code" >>"$1"
        [[ $code == 429 ]] && sleep 0.2
    done
}

phase() { # NAME ATTACK
    local name=$1 attack=$2
    mkdir -p "$work/$name"
    local loops=()
    while read -r copy student _; do
        student_loop "$copy" "$student" "$work/$name/$student.times" &
        loops+=($!)
    done <"$work/students"
    if [[ $attack == yes ]]; then
        attacker_loop "$work/$name/attacker" &
        loops+=($!)
    fi
    sleep "$seconds"
    kill "${loops[@]}" 2>/dev/null || true
    wait "${loops[@]}" 2>/dev/null || true
    # The downloads under way end on their own (16 MiB at 4 MiB/s) before the next phase.
    sleep 5
}

summary() { # NAME: count p50 p99 worst failures (status calls, ms)
    cat "$work/$1"/s*.times | python3 -c '
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
times = sorted(float(t) * 1000 for code, t in rows)
failed = sum(1 for code, t in rows if code != "200")
def pct(p): return times[min(len(times) - 1, int(len(times) * p))] if times else float("nan")
print("%d %.1f %.1f %.1f %d" % (len(times), pct(0.5), pct(0.99), times[-1] if times else float("nan"), failed))'
}

phase quiet no
phase attacked yes
read -r q_count q_p50 q_p99 q_worst q_failed < <(summary quiet)
read -r a_count a_p50 a_p99 a_worst a_failed < <(summary attacked)
attacks=$(sort "$work/attacked/attacker" 2>/dev/null | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')

echo
echo "== the server under $students students for ${seconds} s each phase (status every second, pages, 4 MiB/s downloads)"
printf '%-10s %8s %10s %10s %10s %9s\n' phase calls "p50 ms" "p99 ms" "worst ms" failed
printf '%-10s %8s %10s %10s %10s %9s\n' quiet "$q_count" "$q_p50" "$q_p99" "$q_worst" "$q_failed"
printf '%-10s %8s %10s %10s %10s %9s\n' attacked "$a_count" "$a_p50" "$a_p99" "$a_worst" "$a_failed"
echo "attacked p99 / quiet p99: $(echo "scale=2; $a_p99 / $q_p99" | bc)"
echo "the attacker's validations, by HTTP status: ${attacks%, }"
