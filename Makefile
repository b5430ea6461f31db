# Plinth: one entry point. `make demo` and `make test` set up whatever is missing
# (virtualenv, npm packages, compiler registration), idempotently, then run.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMPS := .stamps
export PATH := $(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup demo test invariants slither bench gas gas-check lint compile abi radio explorer chromium lock clean

setup: $(STAMPS)/venv $(STAMPS)/npm oracle/explorer/app.js
	@tools/register-solc.sh

## The explorer page the oracle's API serves at /explorer/ (explorer/ bundled with its npm
## libraries into oracle/explorer/; rebuilt when its sources or the committed ABIs change).
oracle/explorer/app.js: $(STAMPS)/npm $(wildcard explorer/*.html explorer/src/*) $(wildcard abi/*.json)
	@tools/build-explorer.sh

explorer: $(STAMPS)/npm
	@tools/build-explorer.sh

$(STAMPS)/venv: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(VENV)/bin/python || { echo "setup: creating the virtualenv $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "setup: installing $$(grep -c '==' requirements.lock) pinned Python packages (requirements.lock; about a minute on a fresh machine)"
	@start=$$(date +%s); $(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock \
	  && echo "setup: Python packages installed in $$(( $$(date +%s) - start )) s"
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/npm: package-lock.json
	@echo "setup: installing the npm packages (package-lock.json: solc-js, forge, OpenZeppelin, the explorer's esbuild, ethers and h3-js; about 20 s)"
	@start=$$(date +%s); npm ci --no-audit --no-fund --loglevel=error \
	  && echo "setup: npm packages installed in $$(( $$(date +%s) - start )) s"
	@mkdir -p $(STAMPS) && touch $@

compile: setup
	ape compile

## The committed ABIs (abi/*.json, abi/errors.tsv) regenerated from the contracts; the tests
## fail while they differ (tests/test_abi.py).
abi: compile
	python tools/export_abi.py

## The main job: a local walk-through of the whole protocol on a fresh anvil chain.
demo: setup
	ape run demo

## The air for standalone wireless agents (plinth-radio on 127.0.0.1:8790; agent.toml
## radio_url). RADIO_ARGS="--port 8791 --seed 2" to change.
radio: setup
	plinth-radio $(RADIO_ARGS)

## The test suite (contracts on anvil through ape-foundry, Python units, property tests; the
## forge invariant tests run inside it, tests/test_forge_invariants.py).
## contracts/.cache (dependency sources an earlier `ape run` may leave, 500+ files) goes first:
## Ape lists the project's sources from at most 500 files under contracts/, so with it present
## contracts/lib and contracts/test can go unlisted (BN254Harness "not found").
test: setup chromium
	rm -rf contracts/.cache
	ape test tests/ $(PYTEST_ARGS)

## The system Chromium the explorer's browser test drives (Playwright with executable_path;
## no browser is downloaded): Debian's `chromium`, installed here when missing and root, or
## PLINTH_CHROMIUM=/path/to/chromium.
chromium:
	@command -v chromium >/dev/null || [ -n "$$PLINTH_CHROMIUM" ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing Debian's chromium for the explorer's browser test (about a minute)"; \
	    apt-get install -y -q chromium >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	  else \
	    echo "error: the explorer's browser test needs Debian's chromium: sudo apt-get install chromium (or PLINTH_CHROMIUM=/path/to/chromium)"; exit 1; \
	  fi; }

## The forge invariant tests alone (tests/forge): 32 runs x depth 40, 256 x 100 with CI=true.
invariants: setup
	tools/forge-invariants.sh

## Static analysis: slither in its own virtualenv (requirements-slither.lock), failing on any
## high or medium finding not triaged in slither-baseline.txt.
slither: $(STAMPS)/npm
	@tools/register-solc.sh >/dev/null
	PYTHON=$(PYTHON) tools/slither.sh

## Gas per user action, written to docs/gas.md.
gas: setup
	ape run gas_report -v WARNING

## CI: a fresh gas report compared with the committed docs/gas.md; a row more than 2 % dearer
## (or gone) fails. `make gas` regenerates the snapshot after an intended change.
gas-check: setup
	ape run gas_report -v WARNING --out .gas-new.md > /dev/null
	python tools/gas_compare.py docs/gas.md .gas-new.md --tolerance-pct 2

## Benchmarks that print figures: gas per action, the compute proof (verifier cost, prover split,
## catch rate of this CPU claiming each GPU class; the GPU path where one is present),
## epoch build time for 1,000 and 100,000 node results, storage audits per second end to end,
## a committee round by phase for 4 and 16 members, ECDSA and BLS, how often honest nodes
## are slashed or unrewarded for dropped requests, and hostile inputs thrown at the oracle.
bench: gas
	python -m oracle.bench.compute_ratio --gpu
	python -m oracle.bench.epoch_build
	python -m oracle.bench.audits
	python -m oracle.bench.coverage
	python -m oracle.bench.false_positives
	python -m oracle.bench.hostile_inputs
	ape run committee_bench -v WARNING

lint: setup
	ruff check oracle scripts tests
	ruff format --check oracle scripts tests

## Re-pin the Python dependencies after changing pyproject.toml.
lock: $(STAMPS)/venv
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^plinth' > requirements.lock

clean:
	rm -rf $(STAMPS) oracle/explorer .build contracts/.cache .cache .forge-out .forge-cache .slither
