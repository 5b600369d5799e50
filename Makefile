# DecoyNet: the two commands of the README are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/decoynet
DEMO_OUT := out/quickstart

.PHONY: all deps build release test demo bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product decoynet

# Every test: unit tests of each stage, golden XML checked against libvirt's schemas, the CLI.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-xctest

# The main job, as far as it goes today: validate, compile and graph the quickstart topology.
demo: build
	$(BIN) validate topologies/quickstart.yaml
	$(BIN) compile topologies/quickstart.yaml -o $(DEMO_OUT)
	@for f in $(DEMO_OUT)/networks/*.xml $(DEMO_OUT)/domains/*.xml; do virt-xml-validate $$f >/dev/null && echo "  valid libvirt XML: $$f"; done
	$(BIN) graph topologies/quickstart.yaml --format mermaid

# Compile a generated 10,000-host topology with a release build and print a timing table.
bench:
	@scripts/install-deps.sh bench
	benchmarks/compile.sh

clean:
	rm -rf .build out
