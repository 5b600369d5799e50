#!/usr/bin/env bash
# Benchmark: `decoynet compile` of a generated 10,000-host topology, release build.
# RUNS runs of each case after one warm-up, figures from GNU time as min / median / max:
#   new folder        every run writes all 20,000+ documents into a folder that does not exist yet
#   cp -r baseline    the same files copied into a new folder by cp, run in turn with the case
#                     above: what creating that many files costs on this disk, with no compiling
#   new folder, tmpfs as the first case in a folder on /dev/shm: the tool's own cost, disk aside
#   cp -r, tmpfs      the same files copied from /dev/shm to /dev/shm, in turn with the case above:
#                     the tmpfs compile should be within 0.3 s of it (the median difference is printed)
#   same folder       a second compile of the same file into the same folder (unchanged files are kept)
# Targets: under 1 s wall time and under 500 MB peak memory.
#   benchmarks/compile.sh [HOSTS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-10000}
runs=${2:-7}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

swift build -c release --product decoynet >/dev/null
bin=$(swift build -c release --show-bin-path)/decoynet
benchmarks/generate.sh "$hosts" >"$work/bench.yaml"
cp benchmarks/bench-templates.yaml "$work/"

measure() { # $1: figures file, then the command; appends "wall rss_mb" to the file
    local figures=$1
    shift
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>&1
    read -r wall kib <"$work/time"
    echo "$wall $((kib / 1024))" >>"$figures"
}

stats() { sort -g | awk '{v[NR]=$1} END {printf "%s %s %s", v[1], v[int((NR+1)/2)], v[NR]}'; }

row() { # $1 label, $2 figures file
    read -r wmin wmed wmax <<<"$(cut -d' ' -f1 "$2" | stats)"
    read -r rmin rmed rmax <<<"$(cut -d' ' -f2 "$2" | stats)"
    printf '%-36s %8s %8s %8s %8s\n' "$1: wall time (s)" "$wmin" "$wmed" "$wmax" "< 1"
    printf '%-36s %8s %8s %8s %8s\n' "$1: peak memory (MB)" "$rmin" "$rmed" "$rmax" "< 500"
}

shm=$(mktemp -d -p /dev/shm)
trap 'rm -rf "$work" "$shm"' EXIT
"$bin" compile "$work/bench.yaml" -o "$work/warm" >/dev/null 2>&1
cp -r "$work/warm" "$shm/warm"
for run in $(seq 1 "$runs"); do
    measure "$work/new.figures" "$bin" compile "$work/bench.yaml" -o "$work/new-$run"
    measure "$work/cp.figures" cp -r "$work/warm" "$work/cp-$run"
    measure "$work/shm.figures" "$bin" compile "$work/bench.yaml" -o "$shm/new-$run"
    measure "$work/shmcp.figures" cp -r "$shm/warm" "$shm/cp-$run"
    rm -rf "$shm/new-$run" "$shm/cp-$run"
done
for _ in $(seq 1 "$runs"); do measure "$work/same.figures" "$bin" compile "$work/bench.yaml" -o "$work/warm"; done

domains=$(ls "$work/warm/domains" | wc -l)
volumes=$(ls "$work/warm/volumes" | wc -l)
networks=$(ls "$work/warm/networks" | wc -l)
echo "decoynet compile: $hosts hosts -> $networks networks, $domains domains, $volumes volumes; $runs runs each, release build, $(nproc) cores"
printf '%-36s %8s %8s %8s %8s\n' "figure" "min" "median" "max" "target"
row "new folder" "$work/new.figures"
row "cp -r baseline" "$work/cp.figures"
row "new folder, tmpfs" "$work/shm.figures"
row "cp -r, tmpfs" "$work/shmcp.figures"
row "same folder" "$work/same.figures"
difference=$(paste "$work/shm.figures" "$work/shmcp.figures" | awk '{print $1 - $3}' | sort -g | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}')
printf '%-36s %8s %8s %8s %8s\n' "tmpfs: compile - cp -r (s), median" "" "$difference" "" "<= 0.3"
