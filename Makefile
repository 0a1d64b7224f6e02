# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed on the way (a virtualenv in .venv, the upstream binaries in _output/bin).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The image the Deployment in deploy/ names (flotilla.hub.manifests.IMAGE).
IMAGE ?= ghcr.io/flotilla-io/flotilla:$(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
# buildah, podman or docker; the first one found that works, unless set.
BUILDER ?=

.PHONY: setup binaries packages demo test lint unit e2e bench down clean image shell

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

binaries:
	hack/build.sh

# Debian packages the end-to-end tests run: sshd serves git over ssh (tests/gitservers.py).
# openssh-server: the git servers of the GitOps tests; iproute2 (ip): the local fleet's echo
# servers on lo (connectivity test); bind9, bind9-dnsutils (dig) and dnsperf: the DNS
# benchmarks beside BIND9 (bench/dns_servers.py).
PACKAGES_NEEDED = /usr/sbin/sshd:openssh-server /usr/sbin/ip:iproute2 /usr/sbin/named:bind9 /usr/bin/dig:bind9-dnsutils \
  /usr/bin/dnsperf:dnsperf
packages:
	@missing=""; for pair in $(PACKAGES_NEEDED); do \
	  [ -x "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

demo: setup binaries
	hack/demo.sh

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit

e2e: setup binaries packages
	$(BIN)/pytest tests/e2e

test: lint binaries packages
	$(BIN)/pytest tests

bench: setup binaries
	$(BIN)/python bench/fleet_startup.py

down:
	$(BIN)/flotilla dev down

# The controller's image, from the Containerfile (docker counts only with a running engine).
image:
	@builder="$(BUILDER)"; \
	if [ -z "$$builder" ]; then \
	  for candidate in buildah podman docker; do \
	    command -v $$candidate >/dev/null 2>&1 || continue; \
	    if [ $$candidate = docker ] && ! docker info >/dev/null 2>&1; then continue; fi; \
	    builder=$$candidate; break; \
	  done; \
	fi; \
	if [ -z "$$builder" ]; then \
	  echo "make image: no image builder found: install buildah or podman" \
	    "(e.g. apt-get install buildah), or start a Docker engine; or set BUILDER=" >&2; \
	  exit 1; \
	fi; \
	echo "building $(IMAGE) with $$builder"; \
	$$builder build -f Containerfile -t $(IMAGE) .

# A shell with kubectl, flotilla and the dev fleet's kubeconfig ready, as `make demo` leaves it.
shell: setup
	@kubeconfig="$$($(BIN)/flotilla dev kubeconfig 2>/dev/null)" || \
	  echo "(no dev fleet yet: \`flotilla dev up\`, then \`export KUBECONFIG=\$$(flotilla dev kubeconfig)\`)"; \
	echo "kubectl and flotilla are on the PATH; KUBECONFIG is the dev fleet's. exit to leave."; \
	PATH="$(CURDIR)/_output/bin:$(CURDIR)/$(BIN):$$PATH" KUBECONFIG="$$kubeconfig" $${SHELL:-/bin/bash} -i

clean: down
	rm -rf _output $(VENV)
