# keysmith — build, test, demo and install.
#
#   make test      install missing Debian packages, build, run every test
#   make demo      install missing Debian packages, release build, run the main job
#   make install   release build with a static Swift stdlib into $(PREFIX)

PREFIX ?= /usr/local
SWIFT ?= swift
SWIFT_FLAGS ?=
DEB_PACKAGES = libsodium-dev libssl-dev pkg-config openssh-client python3 python3-bcrypt openssl

.PHONY: all deps build release test demo install clean

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

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)

demo: release
	@sh scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)/keysmith"

install: deps
	$(SWIFT) build -c release --static-swift-stdlib $(SWIFT_FLAGS)
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/man/man1"
	install -m 0755 "$$($(SWIFT) build -c release --static-swift-stdlib --show-bin-path)/keysmith" "$(DESTDIR)$(PREFIX)/bin/keysmith"
	install -m 0644 man/*.1 "$(DESTDIR)$(PREFIX)/share/man/man1/"

clean:
	rm -rf .build
