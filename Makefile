# Cyclades: one Makefile for the whole tree.
#   make run    install into .venv (if needed) and start the whole system on this machine
#   make test   install into .venv (if needed) and run the whole test suite (+ lint, docs)
#   make test-ganeti  the contract suite and the lifecycle against a real Ganeti (root; installs
#               Debian's ganeti, runs it in a network namespace: ci/real-ganeti.sh)
#   make run-ganeti   `make run` against that real cluster instead of the simulator
#   make ui-assets    the web UI's front-end libraries (noVNC), from the npm registry as pinned in
#               package-lock.json, built into the UI's static files
#   make dist   sdists + wheels of every package and a PEP 503 index in dist/ (pip install -f dist/)
#   make deb    the Debian package of every node role in dist/deb/ (an apt repository)
#   make test-packages  build both, install each role into a fresh Debian 12 root (root; CI)
#   make test-chaos   faults injected one at a time into a whole deployment under load, end
#               state checked after each; prints the table of docs/chaos.rst (root; CI)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := snf-common snf-webproject snf-cyclades-app snf-cyclades-gtools snf-tools snf-vncauthproxy
STAMP  := $(VENV)/.installed

# The web UI's front-end library (noVNC, one ES module built by esbuild), from package-lock.json.
UI_VENDOR := snf-cyclades-app/synnefo/ui/static/ui/vendor
NOVNC     := $(UI_VENDOR)/novnc-rfb.js

.PHONY: venv system-deps ui-assets run run-ganeti test test-ganeti lint docs bench clean dist deb test-packages \
	test-chaos

venv: $(STAMP) ui-assets

ui-assets: $(NOVNC)

$(NOVNC): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	mkdir -p $(UI_VENDOR)
	node_modules/.bin/esbuild node_modules/@novnc/novnc/core/rfb.js --bundle --format=esm --minify \
		--target=es2022 --legal-comments=eof --log-level=warning --outfile=$@.tmp
	cp node_modules/@novnc/novnc/LICENSE.txt $(UI_VENDOR)/novnc-LICENSE.txt
	mv $@.tmp $@

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# setuptools' default editable mode (an import finder per package, so the
	# PEP 420 namespace "synnefo" spans the five source trees). Its build
	# backend warns, once per package, about folders named like a package in
	# the current directory: none here (the packages live in snf-*/), hence
	# the warning filter.
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install -q \
		$(foreach p,$(PACKAGES),-e ./$(p)) -r requirements-dev.txt
	touch $@

run: venv
	$(BIN)/snf-quickstart

test: system-deps venv lint docs
	bash ci/run-tests.sh

# npm (the UI's build) and Debian's chromium (its browser tests), installed with apt-get where missing
system-deps:
	bash ci/ui-deps.sh

test-ganeti: venv
	bash ci/test-ganeti.sh

run-ganeti: venv
	bash ci/real-ganeti.sh up
	$(BIN)/snf-quickstart --dir var/ganeti --ganeti

lint: venv
	$(BIN)/ruff check .

docs: venv
	$(BIN)/sphinx-build -q -W --keep-going -b html docs var/docs-html

dist: venv
	$(BIN)/python ci/dist.py

deb: ui-assets
	bash ci/build-deb.sh

test-packages: venv
	bash ci/test-packages.sh

test-chaos: venv
	bash ci/test-chaos.sh $(CHAOS_ARGS)

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var/docs-html node_modules $(UI_VENDOR) var/deb dist
