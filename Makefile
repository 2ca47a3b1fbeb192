# The probe appliance. Two commands matter (see README.md):
#   make run   - build the probe and serve a generated demo capture on :3000
#   make test  - install what the tests need, then run every test
SHELL      := /bin/bash
# A pipeline fails when any of its commands fails (go test -json | printer).
.SHELLFLAGS := -o pipefail -c
GO         ?= go
SHARED     ?= ../shared
BIN        := bin
OUT        := out
GOFLAGS_BUILD := -trimpath

# make run: the REST port, the goProbe API port (empty: API off), whether
# to keep its data directory $(OUT)/data (wiped at each start otherwise)
# and extra probe flags.
HTTP_PORT    ?= 3000
GOPROBE_PORT ?= 6060
RUN_DATA     := $(OUT)/data
KEEP_DATA    ?=
RUN_FLAGS    ?=

BOARD      ?= qemu-x86_64
IMAGE      := $(OUT)/firmware/$(BOARD)

.PHONY: all build run test deps unit vet conformance bench fuzz clean demo generate check-generate \
	image disk qemu replay image-test

all: build

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/probe ./cmd/probe
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/gencap ./tools/gencap
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/conformance ./tools/conformance

$(OUT)/demo.pcap: build
	@mkdir -p $(OUT)
	$(BIN)/gencap -o $(OUT)/demo.pcap

demo: $(OUT)/demo.pcap

# The demo starts from a clean state each time (admin/admin, no stored
# flows), so the README's first call always works; KEEP_DATA=1 keeps it.
run: build $(OUT)/demo.pcap
	@if [ -n "$(KEEP_DATA)" ] && [ -d "$(RUN_DATA)" ]; then \
		echo "probe: KEEP_DATA=1: reusing $(RUN_DATA); admin's password is whatever was set last (run without KEEP_DATA=1 for admin/admin)"; \
	else \
		rm -rf "$(RUN_DATA)"; \
		echo "probe: fresh demo state in $(RUN_DATA): user admin/admin (KEEP_DATA=1 keeps the state between runs)"; \
	fi
	@echo "probe: serving $(OUT)/demo.pcap on http://127.0.0.1:$(HTTP_PORT)$(if $(GOPROBE_PORT), and the goProbe API on http://127.0.0.1:$(GOPROBE_PORT)) (Ctrl-C stops)"
	@echo "try, from another shell (the first call replaces the default admin/admin password, as ntopng requires):"
	@echo "  curl -s -u admin:admin -d 'new_password=s3cret&confirm_new_password=s3cret' http://127.0.0.1:$(HTTP_PORT)/lua/change_password.lua"
	@echo "  curl -s -u admin:s3cret \"http://127.0.0.1:$(HTTP_PORT)/lua/rest/v1/get/host/active.lua?ifid=0\""
	@echo "  curl -s -u admin:s3cret -H \"Content-Type: application/json\" -d '{\"ifid\": \"0\", \"host\": \"192.168.1.10\"}' \"http://127.0.0.1:$(HTTP_PORT)/lua/rest/v1/get/host/data.lua\""
	@if [ -n "$(GOPROBE_PORT)" ]; then echo "  curl -s -X POST -d '{\"Query\":\"talk_conv\",\"Ifaces\":\"any\",\"First\":\"2020-01-01T00:00:00Z\",\"NumResults\":5}' http://127.0.0.1:$(GOPROBE_PORT)/api/v1/_query   # goProbe API"; fi
	@$(BIN)/probe -i $(OUT)/demo.pcap -m 192.168.1.0/24 --http-port $(HTTP_PORT) \
		--goprobe-api "$(if $(GOPROBE_PORT),127.0.0.1:$(GOPROBE_PORT))" --data-dir $(RUN_DATA) \
		$(if $(wildcard $(OUT)/geoip/*.mmdb),--geoip-dir $(OUT)/geoip) $(RUN_FLAGS); \
	rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 130 ]; then \
		echo "probe: exited with status $$rc; if a port is taken: make run HTTP_PORT=3001 GOPROBE_PORT=6061 (GOPROBE_PORT= turns the goProbe API off)" >&2; \
	fi; \
	exit $$rc

deps:
	bash scripts/install-deps.sh
	bash scripts/install-deps.sh geoip

# Quiet for a minute or more: scripts/heartbeat.sh says they still run.
vet:
	bash scripts/heartbeat.sh "running go vet ./..." $(GO) vet ./...
	bash scripts/heartbeat.sh "running staticcheck ./..." $(GO) tool staticcheck ./...

# Fast unit tests first, then the end-to-end suites against the built probe.
# go test's JSON through a printer: a line per package as it ends, failing
# tests' output in one piece, a heartbeat every 15 s naming what still runs.
$(BIN)/testprogress: tools/testprogress/main.go
	$(GO) build $(GOFLAGS_BUILD) -o $@ ./tools/testprogress

unit: $(BIN)/testprogress
	$(GO) test -count=1 -json ./... | $(BIN)/testprogress

conformance: build
	$(BIN)/conformance --probe $(BIN)/probe --suite $(SHARED)/conformance/ntopng-e2e \
		--version v1 --pass-list tools/conformance/passing-v1.txt
	$(BIN)/conformance --probe $(BIN)/probe --suite $(SHARED)/conformance/ntopng-e2e \
		--cases tools/conformance/cases --version v2 --pass-list tools/conformance/passing-v2.txt

# The XDP program's object and bindings are committed (go build needs no
# clang); these rebuild them and prove the committed ones are current.
generate:
	cd bpf && bash ../scripts/heartbeat.sh "rebuilding the XDP program (make generate)" $(GO) generate ./...

check-generate: generate
	@git diff --exit-code --stat -- bpf/ || { echo "bpf/: generated files are stale: run make generate and commit"; exit 1; }

test: deps vet check-generate unit conformance image-test

# The appliance image (u-root initramfs + Debian's kernel) for BOARD.
# Rebuilt only when an input changed (Go sources, board, rootfs, build
# script, kernel lock, signing key): `make qemu` boots the last image at once.
IMAGE_INPUTS := go.mod go.sum .mkuimage.yaml firmware/build.sh firmware/kernel.lock $(SIGNING_KEY) \
	$(shell find agent bpf board cmd controlplane dataplane firmware internal rootfs tools/imgtool \
		-type f -not -name '*_test.go' -not -path '*/testdata/*' 2>/dev/null)
$(IMAGE)/.built: $(IMAGE_INPUTS)
	@rm -f $@
	bash scripts/install-deps.sh image
	bash firmware/build.sh $(BOARD) $(IMAGE)
	@touch $@

image: $(IMAGE)/.built

# A flashable disk: GPT, ESP with systemd-boot and slots A/B, data partition.
# dd it onto the probe box's disk (README.md).
DISK_MIB ?= 2048
disk: image
	bash firmware/disk.sh $(IMAGE) $(BOARD) $(IMAGE)/disk.img $(DISK_MIB)

# Boots the image in QEMU: console here, REST on 127.0.0.1:3000, goProbe API
# on 127.0.0.1:6060; `make replay` (another shell) feeds its monitor port.
qemu: image
	$(GO) run ./tools/qemu -image $(IMAGE)

PCAP ?= $(OUT)/demo.pcap
replay: $(OUT)/demo.pcap
	$(GO) run ./tools/replay $(PCAP)

# The image builds twice to the same bytes, then boots in QEMU: counts
# injected traffic exactly, reboots, keeps its config and flows; and as a
# flashed disk through UEFI: slot A boots and is blessed, a broken slot A
# falls back to slot B; and the generic board's image on e1000 NICs and SATA.
image-test: image $(BIN)/testprogress
	bash firmware/build.sh $(BOARD) $(OUT)/firmware/repro | grep -E '^(build: |\.\.\. )'
	cmp $(IMAGE)/probe.cpio $(OUT)/firmware/repro/probe.cpio && echo "image: reproducible ($$(sha256sum < $(IMAGE)/probe.cpio | cut -c1-16), $$(stat -c %s $(IMAGE)/probe.cpio) bytes)"
	bash firmware/build.sh generic-x86_64 $(OUT)/firmware/generic-x86_64 | grep -E '^(build: |\.\.\. )'
	PROBE_BOOTTEST=1 PROBE_IMAGE=$(CURDIR)/$(IMAGE) $(GO) test -count=1 -json ./firmware/boottest | $(BIN)/testprogress -v

bench:
	bash scripts/install-deps.sh bench
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./tools/bench

# Short fuzz runs of every fuzz target (go test allows one target per run).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 60s ./dataplane/decode
	$(GO) test -run '^$$' -fuzz '^FuzzARP$$' -fuzztime 60s ./dataplane/decode
	$(GO) test -run '^$$' -fuzz '^FuzzParseDNS$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzServerName$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzClassify$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzDHCPHostName$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzSSHClientHASSH$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeFlowRecord$$' -fuzztime 60s ./controlplane/store/internal/flowcodec
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeColumns$$' -fuzztime 60s ./controlplane/store/internal/flowcodec
	$(GO) test -run '^$$' -fuzz '^FuzzParams$$' -fuzztime 60s ./controlplane/rest
	$(GO) test -run '^$$' -fuzz '^FuzzServe$$' -fuzztime 60s ./controlplane/rest
	$(GO) test -run '^$$' -fuzz '^FuzzParseCondition$$' -fuzztime 60s ./controlplane/query
	$(GO) test -run '^$$' -fuzz '^FuzzParseWhere$$' -fuzztime 60s ./controlplane/flowsql
	$(GO) test -run '^$$' -fuzz '^FuzzGrow$$' -fuzztime 60s ./firmware/datadisk
	$(GO) test -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime 60s ./dataplane/recorder/pcapfilter
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime 60s ./controlplane/activemon
	$(GO) test -run '^$$' -fuzz '^FuzzActiveMonitoringREST$$' -fuzztime 60s ./controlplane/rest
	$(GO) test -run '^$$' -fuzz '^FuzzProtosFile$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzQUICInitial$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzTLSServerParser$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzDNSRisks$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzMatchHost$$' -fuzztime 60s ./controlplane/l7
	$(GO) test -run '^$$' -fuzz '^FuzzQuotedFlowKey$$' -fuzztime 60s ./controlplane/flowtable
	$(GO) test -run '^$$' -fuzz '^FuzzParseAWS$$' -fuzztime 60s ./tools/ipranges

clean:
	rm -rf $(BIN) $(OUT)
