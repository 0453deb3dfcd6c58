# Cyclades: one Makefile for the whole tree.
#   make run    install into .venv (if needed) and start the whole system on this machine
#   make test   install into .venv (if needed) and run the whole test suite (+ lint, docs)
#   make test-ganeti  the contract suite and the lifecycle against a real Ganeti (root; installs
#               Debian's ganeti, runs it in a network namespace: ci/real-ganeti.sh)
#   make run-ganeti   `make run` against that real cluster instead of the simulator
#   make dist   sdists + wheels of every package and a PEP 503 index in dist/ (pip install -f dist/)
#   make deb    the Debian package of every node role in dist/deb/ (an apt repository)
#   make test-packages  build both, install each role into a fresh Debian 12 root (root; CI)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := snf-common snf-webproject snf-cyclades-app snf-cyclades-gtools snf-tools snf-vncauthproxy
STAMP  := $(VENV)/.installed

.PHONY: venv run run-ganeti test test-ganeti lint docs bench clean dist deb test-packages

venv: $(STAMP)

$(STAMP): $(foreach p,$(PACKAGES),$(p)/pyproject.toml) requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --config-settings editable_mode=compat \
		$(foreach p,$(PACKAGES),-e ./$(p)) -r requirements-dev.txt
	touch $@

run: venv
	$(BIN)/snf-quickstart

test: venv lint docs
	bash ci/run-tests.sh

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

deb:
	bash ci/build-deb.sh

test-packages: venv
	bash ci/test-packages.sh

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var/docs-html var/deb dist
