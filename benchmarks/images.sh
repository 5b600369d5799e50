#!/usr/bin/env bash
# Decoy images, measured (a table on stdout):
#   build   `image build linux-server` from nothing (empty store, empty package cache: every package
#           downloaded from the Debian archive), the same with the package cache warm, and again with
#           the recipe unchanged.
#   boot    each image booted alone in the lab: seconds from `apply` to every probe of the host
#           passing, and the CPU seconds its QEMU spent until then; the busybox test guest beside them.
#   agent   linux-server's packages with Debian's cloud-init instead of DecoyNet's first-boot agent
#           (benchmarks/recipes/cloud-init-server.yaml), booted with the same kind of seed.
# Usage: benchmarks/images.sh [ROUNDS] (default 3). Needs the lab (make lab) and the built images.
#        ONLY=boot benchmarks/images.sh [ROUNDS]: the boot table alone.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=.build/release/decoynet
lab=(ip netns exec decoynet-lab)
[[ -x $bin ]] || swift build -c release --product decoynet >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%.2f-%.2f)", m, v[1], v[NR] }'; }
now() { date +%s.%N; }

if [[ ${ONLY:-} != boot ]]; then
echo "== image build linux-server"
cold=() warm=() same=()
for _ in $(seq 1 "$rounds"); do
    rm -rf "$work/store" "$work/cache"
    start=$(now); $bin image build linux-server --store "$work/store" --cache "$work/cache" >/dev/null 2>&1; cold+=("$(echo "$(now) - $start" | bc)")
    start=$(now); $bin image build linux-server --store "$work/store" --cache "$work/cache" >/dev/null 2>&1; same+=("$(echo "$(now) - $start" | bc)")
    rm -rf "$work/store"
    start=$(now); $bin image build linux-server --store "$work/store" --cache "$work/cache" >/dev/null 2>&1; warm+=("$(echo "$(now) - $start" | bc)")
done
printf '%-34s %s\n' "case" "seconds, median (min-max) of $rounds"
printf '%-34s %s\n' "from nothing (cold package cache)" "$(printf '%s\n' "${cold[@]}" | median)"
printf '%-34s %s\n' "from nothing (warm package cache)" "$(printf '%s\n' "${warm[@]}" | median)"
printf '%-34s %s\n' "recipe unchanged" "$(printf '%s\n' "${same[@]}" | median)"
rm -rf "$work/store"
echo
fi

# One host alone in the lab, ROUNDS times: seconds from apply to healthy, QEMU CPU until then.
octet=0
boot_row() { # label, host fields (YAML flow mapping body), optional top-level YAML
    octet=$((octet + 1))
    local environment="bench-img-$octet" file="$work/bench-img-$octet.yaml" seconds=() cpu=() probes="" start pid ticks
    printf 'name: %s\ndomain: bench.test\nnetworks:\n  lan: { cidr: 10.191.%d.0/24 }\nhosts:\n  h: { %s, interfaces: [{ network: lan }] }\n%s\n' \
        "$environment" "$octet" "$2" "${3:-}" >"$file"
    for _ in $(seq 1 "$rounds"); do
        start=$(now)
        "${lab[@]}" "$bin" apply "$file" --json --allow-images "$work" >"$work/out.json" 2>/dev/null || true
        seconds+=("$(echo "$(now) - $start" | bc)")
        pid=$(pgrep -f "guest=$environment-h," | head -n 1)
        ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
        cpu+=("$(echo "scale=2; $ticks / $(getconf CLK_TCK)" | bc)")
        probes=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["health"][0]; print(" ".join(p["probe"] + ("" if p["passed"] else "!") for p in h["probes"]))' "$work/out.json")
        "${lab[@]}" "$bin" destroy "$environment" >/dev/null 2>&1
    done
    printf '%-18s %-30s %-30s %s\n' "$1" "$(printf '%s\n' "${seconds[@]}" | median)" "$(printf '%s\n' "${cpu[@]}" | median)" "$probes"
}

echo "== each image booted alone (TCG here), until every probe of the host passes"
printf '%-18s %-30s %-30s %s\n' "image" "healthy after apply (s)" "QEMU CPU until then (s)" "probes"
for template in tiny workstation linux-server web-server mail-server dns-server proxy file-server domain-controller database router; do
    boot_row "$template" "template: $template"
done
# A PC as a company has them: its owner's account and a file, and a declared service answering.
boot_row "workstation+owner" "template: workstation, owner: tsato, services: [rdp], files: [{ path: /home/tsato/notes.txt, content: \"for {owner_name}\" }]" \
    "people: [{ user: tsato, name: Taro Sato }]"
echo "(a probe marked ! did not pass)"

[[ ${ONLY:-} == boot ]] && exit 0
echo
echo "== the first-boot agent against cloud-init: linux-server's packages, the same seed"
$bin image build cloud-init-server --recipes benchmarks/recipes --store "$work/store" >/dev/null 2>&1
image="$work/store/cloud-init-server"
printf '%-18s %-30s %-30s %s\n' "image" "healthy after apply (s)" "QEMU CPU until then (s)" "probes"
boot_row "linux-server" "template: linux-server"
boot_row "cloud-init-server" "template: linux-server, image: { disk: $image/disk.qcow2, kernel: $image/vmlinuz, initrd: $image/initrd.img, cmdline: \"root=LABEL=decoynet-root rw console=ttyS0 quiet no_timer_check\" }"
