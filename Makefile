# keysmith — build, test, demo and install.
#
#   make test      install missing Debian packages, build, run every test
#   make demo      install missing Debian packages, release build, run the main job
#   make install   release build with a static Swift stdlib into $(PREFIX)
#   make man       regenerate the man pages in man/
#   make bench     time keysmith against ssh-keygen side by side

PREFIX ?= /usr/local
SWIFT ?= swift
SWIFT_FLAGS ?=
DEB_PACKAGES = libsodium-dev libssl-dev pkg-config openssh-client openssh-server python3 python3-bcrypt openssl sshpass dropbear-bin

.PHONY: all deps build release lint test demo bench install man clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
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

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

# One release configuration for demo, install and benchmarks: a static Swift
# stdlib starts faster and the installed binary needs no Swift runtime.
RELEASE_FLAGS = -c release --static-swift-stdlib $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

test: deps lint
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)

demo: release
	@sh scripts/demo.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith"

# Side-by-side timings against ssh-keygen (ratios ours/theirs); not part of make test.
bench: release
	@sh scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith" $${RUNS:-21}

install: release
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1"
	install -m 0755 "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/keysmith" "$(DESTDIR)$(PREFIX)/bin/keysmith"
	install -m 0644 man/*.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"

# Regenerates man/ from the command definitions; commit the result.
man:
	$(SWIFT) package --allow-writing-to-package-directory generate-manual --multi-page --output-directory man
	rm -f man/keysmith.help.1

clean:
	rm -rf .build
