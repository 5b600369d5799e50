# DecoyNet: the two commands of the README are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/debug/decoynet
LAB := ip netns exec decoynet-lab

.PHONY: all deps build release test demo demo-down lab lab-down bench bench-deploy bench-images bench-enterprise bench-server bench-tenants bench-observe bench-observe-enterprise bench-stealth bench-snapshot bench-idle bench-reset-memory bench-clones faults fuzz images serve clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product decoynet

# The local lab: libvirtd and QEMU inside the network namespace decoynet-lab, and the test guest.
lab:
	scripts/lab.sh up

lab-down:
	scripts/lab.sh down

# The main job: build, set up the lab, apply topologies/quickstart.yaml and print its health.
demo: build lab
	$(LAB) $(BIN) apply topologies/quickstart.yaml
	$(LAB) $(BIN) status quickstart

demo-down:
	$(BIN) destroy quickstart

# Every test: each stage's unit tests, golden XML against libvirt's schemas, the CLI, the planner
# on libvirt's test driver, and end to end on a real libvirtd and QEMU in the lab.
test:
	scripts/test.sh

# Benchmarks, each printing a table: compiling 10,000 hosts; building out 8 and 48 guests against virsh.
bench:
	@scripts/install-deps.sh bench
	benchmarks/compile.sh

bench-deploy: build lab
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/deploy.sh 3 8
	benchmarks/deploy.sh 2 48
	benchmarks/reset.sh 3

# The server on libvirt's test driver with 130 hosts: status under 50 concurrent clients (wrk), the page's time.
bench-server: deps
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/server.sh

# The server under 30 students at once, quiet and while one sends the worst validation it can: p99 of the others' status calls.
bench-tenants: deps
	$(SWIFT) build -c release --product decoynet
	benchmarks/tenants.sh

# libFuzzer over load, validate, lower and render: a million runs, none over 1 s (not part of make test).
fuzz: deps
	scripts/fuzz.sh

# libvirtd restarted mid apply, reset and destroy (10 runs each), then 100 apply/destroy cycles: a table.
faults: build lab
	scripts/faults.sh

# The web pages and API on http://127.0.0.1:8080 over the lab (its token: /var/lib/decoynet/server/admin.token).
serve: build lab
	$(LAB) $(BIN) serve

# The decoy images from images/*.yaml (cached: an unchanged recipe is not rebuilt).
images: build
	@scripts/forensics-env.sh >/dev/null
	$(BIN) image build --all

# Building an image from nothing and unchanged; each image booted alone against the test guest.
bench-images: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/images.sh

# enterprise.yaml applied, tested and destroyed (about half an hour here; not part of make test).
bench-enterprise: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/enterprise.sh

# Watching infection.yaml: packet -> event latency against tcpdump, idle CPU against the captures alone, a run to c2.
bench-observe: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/observe.sh 1000

# Watching the enterprise with `observe: true`: idle CPU, latency idle and under a scan, events per second (about an hour, most of it the apply; not part of make test).
bench-observe-enterprise: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/observe-enterprise.sh 1000

bench-stealth: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/stealth.sh 2

# Idle CPU per device a domain could do without (USB, balloon, HPET), on workstations and servers.
bench-idle: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/idle.sh 2 120

# Reset from a host's clean state against a boot (--cold), a workstation and a server.
bench-reset-memory: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	benchmarks/reset-memory.sh 3

# Restored workstations, one apply per number of restores at once: where a clone's time goes.
bench-clones: build lab images
	@scripts/install-deps.sh bench
	$(SWIFT) build -c release --product decoynet
	BIN=.build/release/decoynet benchmarks/clones.sh 24

bench-snapshot: build lab images
	@scripts/install-deps.sh bench
	@scripts/forensics-env.sh >/dev/null
	$(SWIFT) build -c release --product decoynet
	benchmarks/snapshot.sh 3

clean:
	rm -rf .build out
