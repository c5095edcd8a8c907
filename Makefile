# The README's two commands: `make demo` runs the example project,
# `make test` sets up and runs everything CI runs (.ci/run calls it).

PYTHON ?= python3
VENV := .venv
MANAGE := $(VENV)/bin/python example_project/manage.py

.PHONY: demo test bench lint clean distclean

demo: $(VENV)/.demo-installed
	@# runserver shows the system check warnings; no need to print them three times.
	$(MANAGE) migrate --no-input --verbosity 0 --skip-checks
	$(MANAGE) seed_demo --skip-checks
	@echo "Example project on http://127.0.0.1:8000/ (Ctrl-C stops it)"
	$(MANAGE) runserver 127.0.0.1:8000

test:
	bash .ci/test.sh

# Every benchmark, side by side, into BENCHMARKS.md (under 10 minutes on 2 cores).
bench: $(VENV)/.demo-installed
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check sentry-sdk
	$(VENV)/bin/python benchmarks/run_all.py

lint: $(VENV)/bin/ruff
	$(VENV)/bin/ruff check .

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstalled only when pyproject.toml changes, so re-running `make demo` is fast.
$(VENV)/.demo-installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[toolbar]'
	touch $@

$(VENV)/bin/ruff: | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check ruff

# Generated files; the venvs stay (distclean removes them too).
clean:
	rm -rf example_project/db.sqlite3 build .cache artifacts .pytest_cache *.egg-info
	find . -path ./.git -prune -o -name '.venv*' -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .venv-test-dj52 .venv-test-dj6
