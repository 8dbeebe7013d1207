# keysmith — build, test, demo and install.
#
#   make test      install missing Debian packages, lint, build, run the default test tier
#                  (every algorithm and every pair of algorithms against OpenSSH and
#                  dropbear, one command per hostile server), then every fuzz target for
#                  TEST_FUZZ_SECONDS (15) each; what CI runs (docs/testing.md)
#   make test-full the same with KEYSMITH_TEST_TIER=full: the full algorithm product against
#                  OpenSSH and dropbear, every command against every hostile server, then
#                  every fuzz target for FULL_FUZZ_SECONDS (60) each
#   make demo      install missing Debian packages, release build, run the main job
#   make install   release build (a static executable; needs only BUILD_PACKAGES, which it
#                  installs as root and otherwise names) into $(PREFIX), with its security
#                  key helper and the challenge service (keysmith-challenged) in
#                  $(PREFIX)/libexec/keysmith, man pages and bash/zsh/fish completions
#                  (BIN=path installs that binary, and the keysmith-sk-helper and
#                  keysmith-challenged beside it, instead of building them; DESTDIR is honoured)
#   make release-service  release build of keysmith-challenged, copied beside keysmith
#   make man       regenerate man/ and completions/ from the command definitions
#   make completions  regenerate completions/ only
#   make bench     time keysmith against ssh-keygen and ssh-copy-id side by side
#   make bench-serve  only the server-side rows of make bench (serve, challenges)
#   make bench-service  keysmith-challenged (release, one replica) under wrk: directory store, then PostgreSQL
#   make bench-inprocess  in-process benchmarks of the libraries (Benchmarks/)
#   make fuzz      build the libFuzzer targets and run each for FUZZ_SECONDS (docs/fuzzing.md)
#   make ed25519-differential  the long differential run of the Ed25519 fast path (docs/security.md)
#   make sanitize  the test suite under AddressSanitizer and ThreadSanitizer (docs/sanitizers.md)

PREFIX ?= /usr/local
SWIFT ?= swift
SWIFT_FLAGS ?=
# Debian packages, by what needs them (the Swift toolchain is given). Building and
# installing needs only BUILD_PACKAGES; the demo adds OpenSSH to deploy to; the tests add
# the peers keysmith is proven against and the tools they drive; DOCS_PACKAGES render and
# check the man pages.
BUILD_PACKAGES = libsodium-dev libssl-dev libfido2-dev pkg-config
DEMO_PACKAGES = openssh-client openssh-server
TEST_PACKAGES = gcc libc6-dev openssh-client openssh-server python3 python3-bcrypt python3-cryptography \
	python3-paramiko openssl sshpass dropbear-bin time zsh fish git iproute2 netcat-openbsd procps \
	postgresql util-linux curl nginx
DOCS_PACKAGES = groff-base man-db

.PHONY: all deps deps-build deps-demo build release release-service lint test test-full demo bench bench-serve bench-service bench-inprocess install uninstall man completions clean fuzz fuzz-build fuzz-run fuzz-seeds ed25519-differential sanitize sanitize-address sanitize-thread

all: build

# $(1): packages that must be installed. Root gets the missing ones installed (and is told
# which); anyone else is told the exact apt-get line, and the target stops.
define ensure_packages
	@missing=""; \
	for p in $(sort $(1)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
endef

# Everything the tests, the fuzzers and the docs need.
deps:
	$(call ensure_packages,$(BUILD_PACKAGES) $(TEST_PACKAGES) $(DOCS_PACKAGES))

# Only what building keysmith needs: make build, release and install.
deps-build:
	$(call ensure_packages,$(BUILD_PACKAGES))

deps-demo:
	$(call ensure_packages,$(BUILD_PACKAGES) $(DEMO_PACKAGES))

build: deps-build
	$(SWIFT) build $(SWIFT_FLAGS)

# One release configuration for demo, install and benchmarks: a fully static
# executable (Swift runtime, libcrypto, libsodium and libc linked in). It needs no
# Swift runtime installed, and it starts as fast as ssh-keygen: no dynamic loader,
# no symbol lookups, no relocated pages to copy. Measured for `fingerprint -f
# key.pub` (perf stat -r 50, CPU time / page faults): PIE with a static Swift
# stdlib 9.5 ms / 592, non-PIE 7.9 ms / 466, static 4.4 ms / 266; ssh-keygen -l
# 4.5 ms / 327. As with any static glibc program, user and host look-ups
# (getpwuid, getaddrinfo) load the system's NSS modules of the same glibc at run time.
# It cannot load security key libraries (libfido2, sk-api.h middleware): glibc gives a
# library a static program loads no thread-local storage (docs/architecture.md, "Run-time
# loading, and why"). So, as OpenSSH's ssh-keygen runs ssh-sk-helper, it runs each security
# key operation in keysmith-sk-helper, a small program linked dynamically against glibc
# (the Swift runtime linked in), built in its own scratch directory and copied beside
# keysmith; `make install` puts it in $(PREFIX)/libexec/keysmith.
RELEASE_FLAGS = -c release -Xswiftc -static-executable $(SWIFT_FLAGS)
SK_HELPER_FLAGS = -c release -Xswiftc -static-stdlib --scratch-path .build-sk-helper $(SWIFT_FLAGS)

release: deps-build
	$(SWIFT) build $(RELEASE_FLAGS) --product keysmith
	$(SWIFT) build $(SK_HELPER_FLAGS) --product keysmith-sk-helper
	cp "$$($(SWIFT) build $(SK_HELPER_FLAGS) --show-bin-path)/keysmith-sk-helper" \
	  "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith-sk-helper"

# The challenge service (docs/challenge-service.md) links SwiftNIO, Hummingbird and
# postgres-nio, which keysmith itself leaves out so that it starts as fast as ssh-keygen;
# `keysmith challenge serve` runs it. Built as keysmith-sk-helper is (a static Swift
# runtime, glibc linked dynamically: NIO resolves host names through glibc's NSS), in the
# helper's scratch directory; not part of `make release`, so that `make demo` does not wait
# for SwiftNIO's release build.
release-service: release
	$(SWIFT) build $(SK_HELPER_FLAGS) --product keysmith-challenged
	cp "$$($(SWIFT) build $(SK_HELPER_FLAGS) --show-bin-path)/keysmith-challenged" \
	  "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith-challenged"

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Fuzz/Sources Package.swift

# The tier is read by the test support (Tests/KeysmithTestSupport/TestTier.swift): unset, the
# matrices run a pairwise covering array of the algorithms and the long sweeps a
# representative share; KEYSMITH_TEST_TIER=full runs everything (docs/testing.md).
test: deps lint
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors $(SWIFT_FLAGS)
	scripts/run-tests.sh $(SWIFT) test --skip-build $(SWIFT_FLAGS)
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

FULL_FUZZ_SECONDS ?= 60
test-full: deps lint
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors $(SWIFT_FLAGS)
	KEYSMITH_TEST_TIER=full scripts/run-tests.sh $(SWIFT) test --skip-build $(SWIFT_FLAGS)
	$(MAKE) fuzz FUZZ_SECONDS=$(FULL_FUZZ_SECONDS)

# Fuzzing (docs/fuzzing.md). The targets exist only when KEYSMITH_FUZZ is set, in their own
# scratch directory, so the everyday build neither sees nor rebuilds them. Each run starts
# from the checked-in seeds (copied, so libFuzzer's finds stay out of the repository) and
# fails on any crash, leak, timeout or out-of-memory; the input is left in FUZZ_OUT.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 15
FUZZ_TARGETS ?= FuzzPrivateKey FuzzPublicKey FuzzKeyLines FuzzSSHSIG FuzzChallenge FuzzTransport \
	FuzzPacket FuzzKexInit FuzzUserAuth FuzzConnection FuzzSFTP FuzzServerTransport FuzzServerUserAuth \
	FuzzServerSession FuzzEd25519 FuzzKRL
FUZZ_SCRATCH = .build-fuzz
FUZZ_OUT = $(FUZZ_SCRATCH)/findings
# KEYSMITH_FUZZ=targets: the manifest holds only the fuzz targets and the libraries they
# link, so one `swift build` builds them all at once (Package.swift).
FUZZ_BUILD = KEYSMITH_FUZZ=targets $(SWIFT) build -c release --scratch-path $(FUZZ_SCRATCH) \
	--sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address

fuzz: deps fuzz-build fuzz-run

fuzz-build:
	@mkdir -p $(FUZZ_SCRATCH); echo "fuzz: building every target"; \
	if ! $(FUZZ_BUILD) > $(FUZZ_SCRATCH)/build.log 2>&1; then \
	  grep -v "Cannot export local symbol" $(FUZZ_SCRATCH)/build.log; exit 1; \
	fi

fuzz-run:
	@failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  rm -rf "$(FUZZ_OUT)/$$t"; mkdir -p "$(FUZZ_OUT)/$$t/corpus" "$(FUZZ_OUT)/$$t/artifacts"; \
	  cp Fuzz/corpus/$$t/* "$(FUZZ_OUT)/$$t/corpus/"; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1 \
	      "$(FUZZ_SCRATCH)/release/$$t" -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	      -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$(FUZZ_OUT)/$$t/artifacts/" \
	      "$(FUZZ_OUT)/$$t/corpus" > "$(FUZZ_OUT)/$$t/log" 2>&1; then \
	    grep -E "^stat::number_of_executed_units|^Done" "$(FUZZ_OUT)/$$t/log" | tail -1; \
	  else \
	    echo "fuzz: $$t FAILED, see $(FUZZ_OUT)/$$t/log and $(FUZZ_OUT)/$$t/artifacts/"; \
	    grep -E "^==[0-9]+==ERROR|SUMMARY|Fatal error|deadly signal|timeout" "$(FUZZ_OUT)/$$t/log" | head -5; \
	    failed="$$failed $$t"; \
	  fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failures in$$failed"; exit 1; fi

# The long differential run of the Ed25519 prepared-key path against libsodium
# (docs/security.md): a release build without sanitizers in its own scratch directory,
# ED25519_CASES cases (seed ED25519_SEED); fails on any disagreement.
ED25519_CASES ?= 10000000
ED25519_SEED ?= 1
ed25519-differential: deps
	KEYSMITH_FUZZ=1 $(SWIFT) build -c release --scratch-path .build-diff --product Ed25519LongRun $(SWIFT_FLAGS)
	.build-diff/release/Ed25519LongRun $(ED25519_CASES) $(ED25519_SEED)

# The test suite under AddressSanitizer and under ThreadSanitizer (docs/sanitizers.md), each in
# its own scratch directory so the everyday .build stays warm. Not part of `make test`: on two
# shared cores the first ASan build took 9 minutes and its test run 42, TSan 17 and 43.
# Every sanitized process, the test runner and each keysmith it starts, writes its report
# to a file in .build-X/sanitizer-logs (world-writable: some tests run keysmith as nobody),
# so a report from a child whose failure a test expected still fails the target.
# Suppressions, each with its reason, are in scripts/sanitizers/lsan.supp and tsan.supp.
# SANITIZE_FILTER narrows the run (e.g. SANITIZE_FILTER='SSHCryptoTests|SSHKeysTests|FuzzTests').
# Each report file is named after its executable and pid (log_exe_name), e.g. asan.keysmith.1234.
# SANITIZE_OPTIONS adds sanitizer options, e.g. SANITIZE_OPTIONS=fast_unwind_on_malloc=0 for
# allocation stacks through libraries built without frame pointers (libcrypto): slower.
SANITIZE_FILTER ?=
SANITIZE_OPTIONS ?=
ASAN_ENV = ASAN_OPTIONS=log_path=$(CURDIR)/.build-asan/sanitizer-logs/asan:log_exe_name=1:detect_leaks=1$(if $(SANITIZE_OPTIONS),:$(SANITIZE_OPTIONS)) \
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/sanitizers/lsan.supp:print_suppressions=0
TSAN_ENV = TSAN_OPTIONS=log_path=$(CURDIR)/.build-tsan/sanitizer-logs/tsan:log_exe_name=1:suppressions=$(CURDIR)/scripts/sanitizers/tsan.supp$(if $(SANITIZE_OPTIONS),:$(SANITIZE_OPTIONS))
# $(1): scratch directory suffix, $(2): sanitizer, $(3): its environment.
define sanitize_run
	$(SWIFT) build --build-tests --scratch-path .build-$(1) --sanitize=$(2) $(SWIFT_FLAGS)
	@rm -rf .build-$(1)/sanitizer-logs && mkdir -m 1777 .build-$(1)/sanitizer-logs
	@status=0; SWIFT_BACKTRACE=enable=no $(3) $(SWIFT) test --skip-build \
	  --scratch-path .build-$(1) --sanitize=$(2) $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)') \
	  $(SWIFT_FLAGS) || status=$$?; \
	if [ -n "$$(ls .build-$(1)/sanitizer-logs)" ]; then \
	  echo "sanitize: $(2) sanitizer reports in .build-$(1)/sanitizer-logs:"; \
	  grep -h -E "==ERROR|^WARNING:|^SUMMARY:|^    #[0-3] " .build-$(1)/sanitizer-logs/* | head -60; exit 1; \
	fi; \
	if [ $$status -ne 0 ]; then echo "sanitize: tests failed under the $(2) sanitizer"; exit $$status; fi; \
	echo "sanitize: $(2) clean"
endef

sanitize: deps sanitize-address sanitize-thread

sanitize-address:
	$(call sanitize_run,asan,address,$(ASAN_ENV))

sanitize-thread:
	$(call sanitize_run,tsan,thread,$(TSAN_ENV))

# Regenerates the seed corpora from ssh-keygen, sshd and sftp-server (needs a debug build).
fuzz-seeds: build
	rm -rf Fuzz/corpus
	python3 Fuzz/make-seeds.py "$$($(SWIFT) build --show-bin-path)/keysmith"

demo: deps-demo release
	@sh scripts/demo.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith"

# Side-by-side timings against ssh-keygen and ssh-copy-id (ratios ours/theirs); not
# part of make test. As root it also starts a throwaway sshd and account (first deploy)
# and times `keysmith serve` against OpenSSH logins.
# `keysmith serve` is also driven by serve-load (Benchmarks/ServeLoad), keysmith's own
# client in threads, which spends far less CPU per login than an ssh process, so that
# the server's rate is what is measured; challenge-rate and ed25519-libraries print the
# in-process server-side rates. `make bench-serve` runs those rows alone.
BENCH_TOOLS = serve-load challenge-rate ed25519-libraries
BENCH_TOOLS_BUILD = cd Benchmarks && for p in $(BENCH_TOOLS); do \
	  $(SWIFT) build -c release --product $$p $(SWIFT_FLAGS) || exit 1; done
BENCH_RUN = BENCH_BIN="$$(cd Benchmarks && $(SWIFT) build -c release --show-bin-path)" \
	  sh scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith" $${RUNS:-21}
bench: release
	@$(BENCH_TOOLS_BUILD)
	@$(BENCH_RUN)

bench-serve: release
	@$(BENCH_TOOLS_BUILD)
	@SERVE_ONLY=1 $(BENCH_RUN)

# The HTTP challenge service: a release keysmith-challenged, one replica on a directory
# store, then on PostgreSQL, wrk POSTing pre-generated verifications that all succeed (scripts/bench-service.sh;
# docs/challenge-service.md keeps the numbers). wrk is its own, not a test package.
BENCH_SERVICE_PACKAGES = wrk curl python3 python3-cryptography openssh-client postgresql util-linux
bench-service: deps-build
	$(call ensure_packages,$(BENCH_SERVICE_PACKAGES))
	$(SWIFT) build -c release --product keysmith-challenged $(SWIFT_FLAGS)
	sh scripts/bench-service.sh "$$($(SWIFT) build -c release --show-bin-path $(SWIFT_FLAGS))/keysmith-challenged"
	STORE=postgres sh scripts/bench-service.sh "$$($(SWIFT) build -c release --show-bin-path $(SWIFT_FLAGS))/keysmith-challenged"

# In-process benchmarks of the libraries (ordo-one/package-benchmark). They live in
# their own package, Benchmarks/, so the main build neither fetches nor compiles the harness.
bench-inprocess: deps
	cd Benchmarks && $(SWIFT) package benchmark --no-progress --target KeysmithBenchmarks

# Where `make install` puts things; the completion directories are the ones
# bash-completion, zsh and fish look in under a prefix.
BINDIR = $(PREFIX)/bin
SKHELPERDIR = $(PREFIX)/libexec/keysmith
MANDIR = $(PREFIX)/share/man/man1
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR = $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(PREFIX)/share/fish/vendor_completions.d
# LINKS=1 also makes ssh-keygen, ssh-copy-id and ssh-add links to keysmith in a directory
# of their own (never over the system's tools); keysmith run through one reads that
# tool's command line (docs/drop-in.md).
LINKDIR = $(PREFIX)/libexec/keysmith/openssh
LINKS ?=

# BIN=path installs an already-built binary (the install test uses it) and the
# keysmith-sk-helper and keysmith-challenged beside it; otherwise a release build is made
# first. keysmith finds both in ../libexec/keysmith from its own directory
# (SecurityKey/HelperProvider.swift, keysmith/Challenge.swift).
BIN ?=
install: $(if $(BIN),,release-service)
	@bin="$(BIN)"; [ -n "$$bin" ] || bin="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith"; \
	helper="$$(dirname "$$bin")/keysmith-sk-helper"; \
	service="$$(dirname "$$bin")/keysmith-challenged"; \
	set -ex; \
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SKHELPERDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"; \
	install -m 0755 "$$bin" "$(DESTDIR)$(BINDIR)/keysmith"; \
	install -m 0755 "$$helper" "$(DESTDIR)$(SKHELPERDIR)/keysmith-sk-helper"; \
	install -m 0755 "$$service" "$(DESTDIR)$(SKHELPERDIR)/keysmith-challenged"; \
	install -m 0644 man/*.1 "$(DESTDIR)$(MANDIR)/"; \
	install -m 0644 completions/keysmith.bash "$(DESTDIR)$(BASHCOMPDIR)/keysmith"; \
	install -m 0644 completions/_keysmith "$(DESTDIR)$(ZSHCOMPDIR)/_keysmith"; \
	install -m 0644 completions/keysmith.fish "$(DESTDIR)$(FISHCOMPDIR)/keysmith.fish"; \
	if [ -n "$(LINKS)" ]; then \
	  install -d "$(DESTDIR)$(LINKDIR)"; \
	  for tool in ssh-keygen ssh-copy-id ssh-add; do ln -sf ../../../bin/keysmith "$(DESTDIR)$(LINKDIR)/$$tool"; done; \
	fi

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/keysmith" "$(DESTDIR)$(MANDIR)"/keysmith.1 "$(DESTDIR)$(MANDIR)"/keysmith-*.1 \
	  "$(DESTDIR)$(BASHCOMPDIR)/keysmith" "$(DESTDIR)$(ZSHCOMPDIR)/_keysmith" "$(DESTDIR)$(FISHCOMPDIR)/keysmith.fish" \
	  "$(DESTDIR)$(SKHELPERDIR)/keysmith-sk-helper" "$(DESTDIR)$(SKHELPERDIR)/keysmith-challenged" \
	  "$(DESTDIR)$(LINKDIR)/ssh-keygen" "$(DESTDIR)$(LINKDIR)/ssh-copy-id" "$(DESTDIR)$(LINKDIR)/ssh-add"
	rmdir "$(DESTDIR)$(LINKDIR)" 2>/dev/null || true
	rmdir "$(DESTDIR)$(SKHELPERDIR)" 2>/dev/null || true

# Regenerates man/ (generate-manual, then scripts/man.py adds names, EXIT STATUS,
# and the EXAMPLES and SEE ALSO of docs/man/PAGE.txt) and completions/; commit
# the result. The tests check both are current.
man: completions
	rm -rf .build/man-raw && mkdir -p .build/man-raw
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --output-directory .build/man-raw
	python3 scripts/man.py .build/man-raw man docs/man

completions:
	$(SWIFT) build $(SWIFT_FLAGS) --product keysmith
	@bin="$$($(SWIFT) build $(SWIFT_FLAGS) --show-bin-path)/keysmith"; set -e; \
	"$$bin" --generate-completion-script bash > completions/keysmith.bash; \
	"$$bin" --generate-completion-script zsh > completions/_keysmith; \
	"$$bin" --generate-completion-script fish > completions/keysmith.fish

clean:
	rm -rf .build .build-sk-helper .build-fuzz .build-diff .build-asan .build-tsan
