#!/usr/bin/env bash
# libFuzzer over the language's front end: load, validate, lower and render (Sources/DecoyNetFuzz).
# Seeded with the project's topologies, templates and recipes and with the topologies written
# inside the tests; the corpus grows in .build-fuzz/corpus, crashes and hangs land in
# .build-fuzz/findings (each one becomes a test). Not part of `make test`.
#   scripts/fuzz.sh [RUNS]        (make fuzz; default 1,000,000 runs, a hang is a run over 1 s)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
work=.build-fuzz
mkdir -p "$work/seeds" "$work/corpus" "$work/findings"

# SwiftPM links executables with --defsym main=..., which gold cannot link beside libFuzzer's own
# main: link with the toolchain's lld.
toolchain=$(dirname "$(readlink -f "$(command -v swift)")")
printf '{ "schemaVersion": "1.0", "linker": { "path": "%s/ld.lld" } }\n' "$toolchain" >"$work/toolset.json"
swift build -c release --product decoynet-fuzz --build-path "$work" --toolset "$work/toolset.json" \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
bin=$(swift build -c release --build-path "$work" --show-bin-path)/decoynet-fuzz

rm -f "$work"/seeds/*
for file in topologies/*.yaml templates/*.yaml benchmarks/*.yaml images/*.yaml; do
    [ -f "$file" ] && cp "$file" "$work/seeds/$(echo "$file" | tr '/' '-')"
done
# The topologies the tests write inline ("""...""" blocks that look like one).
python3 - "$work/seeds" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
count = 0
for source in pathlib.Path("Tests").rglob("*.swift"):
    for block in re.findall(r'"""\n(.*?)\n\s*"""', source.read_text(), re.S):
        if re.search(r'^\s*(name|hosts|networks|images|templates):', block, re.M) and "\\(" not in block:
            count += 1
            (out / f"test-{count:04}.yaml").write_text(block + "\n")
print(f"fuzz: {count} topologies from the tests", file=sys.stderr)
PY

echo "fuzz: $(ls "$work/seeds" | wc -l) seeds, $runs runs, $(nproc) cores" >&2
DECOYNET_FUZZ_TEMPLATES=$PWD/templates "$bin" "$work/corpus" "$work/seeds" \
    -runs="$runs" -timeout=1 -rss_limit_mb=2048 -max_len=16384 \
    -artifact_prefix="$work/findings/" -print_final_stats=1
