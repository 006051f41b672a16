# synthfer — set-up, demo, tests.  `make help` lists the targets.
#
# Works on a fresh Debian 12 / Python 3.11 machine with no GPU: everything the project needs is
# installed here (a virtual environment in .venv, plus Debian packages when run as root).

SHELL        := /bin/bash
PYTHON       ?= python3
VENV         ?= .venv
BIN          := $(VENV)/bin
# The CPU build of torch; on a GPU machine use e.g. `make install TORCH_SPEC="torch==2.13.0"` with
# the CUDA index of your cluster, or install torch first and set TORCH_SPEC=torch.
TORCH_SPEC   ?= torch==2.13.0
CORES        ?= 2
DEMO_CONFIG  ?= config/demo.yaml
STAMP        := $(VENV)/.synthfer-installed
# Debian packages: headless Chromium (review-page test), Slurm + munge (HPC test), graphviz (make dag).
APT_TEST     := chromium chromium-driver slurm-wlm munge graphviz

.PHONY: help install peers apt-test demo test test-unit dag lint check-envs slurm-profile clean-demo

help:
	@echo "make demo           set up .venv and run the whole workflow on the embedded demo data (results/, report: results/report.html)"
	@echo "make test           set up .venv (+ Debian test packages when root) and run the test suite (unit, dry-runs, demo DAG, Slurm)"
	@echo "make test-unit      the fast tests only (no demo run, no Slurm)"
	@echo "make dag            write the rule graph to dag.svg (dag.dot without graphviz)"
	@echo "make lint           snakemake --lint, snakefmt --check (line length 120) and ruff"
	@echo "make check-envs     build each envs/*.yaml's packages in a scratch venv (pip) and use it as a job would"
	@echo "make slurm-profile  make 'snakemake --profile slurm' work from this folder (see docs/hpc.md)"

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	    echo "python3-venv missing: installing it (Debian)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[all,test]"
	touch $@

install: $(STAMP)

# A separate venv with the peer tools the parity tests and benchmarks compare against
# (image-similarity-measures pins numpy<2, so it must not go into .venv).
peers: $(STAMP)
	PYTHON=$(PYTHON) bash benchmarks/peer_env.sh

# Debian packages the tests need (only as root; otherwise the tests that need them say what is missing).
apt-test:
	@missing=""; for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then echo "installing Debian packages:$$missing"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	    else echo "warning: not root, cannot install:$$missing"; fi; fi

demo: install
	$(BIN)/snakemake --configfile $(DEMO_CONFIG) --cores $(CORES)
	$(BIN)/snakemake --configfile $(DEMO_CONFIG) --report results/report.html
	@echo "demo finished: open results/report.html"

test: install peers apt-test
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest -m "not slow and not slurm"

dag: install
	$(BIN)/snakemake --configfile $(DEMO_CONFIG) --rulegraph > dag.dot
	@if command -v dot >/dev/null; then dot -Tsvg dag.dot > dag.svg && echo "wrote dag.svg"; else echo "graphviz missing: wrote dag.dot"; fi

lint: install
	$(BIN)/snakemake --configfile $(DEMO_CONFIG) --lint
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/ruff check synthfer workflow_scripts tests benchmarks

# Slow (network, ~3 GB and minutes per env): envs/*.yaml installed with pip into .check-envs/<env>, every module
# their rules reach imported there in isolation, and rule demo_data's script run in the faces env.
# ENVS="faces gan" limits it; CHECK_ENVS_DIR moves the venvs.
ENVS           ?=
CHECK_ENVS_DIR ?= .check-envs
check-envs: install
	$(BIN)/python tests/support/check_envs.py --dir $(CHECK_ENVS_DIR) $(ENVS)

slurm-profile:
	mkdir -p $(HOME)/.config/snakemake
	ln -sfn $(CURDIR)/profiles/slurm $(HOME)/.config/snakemake/slurm
	@echo "installed: snakemake --profile slurm  ->  $(CURDIR)/profiles/slurm"

clean-demo:
	rm -rf results/demo results/faces results/gan results/latent results/review results/seeds \
	       results/synthetic results/iqa results/select results/annotations results/fer results/report results/report.html
