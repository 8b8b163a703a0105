# The two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean install

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/linearlab demo

test: $(STAMP)
	$(BIN)/python -m ruff check src tests bench examples scripts
	@command -v chromium >/dev/null 2>&1 || echo "NOTE: Chromium is not installed \
	(Debian: apt-get install chromium), so the playground's browser tests are skipped."
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/python -m ruff check src tests bench examples scripts

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
