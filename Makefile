# The README's two commands: `make demo` runs the example project,
# `make test` sets up and runs everything CI runs (.ci/run calls it: noxfile.py).
# Every target installs what it needs into .venv (or, for `make test`, .venv-nox
# and .nox/), so each works from a fresh clone with only Python 3.10+.

PYTHON ?= python3
VENV := .venv
MANAGE := $(VENV)/bin/python example_project/manage.py
# `make demo PORT=8001` when 8000 is taken.
PORT ?= 8000

.PHONY: demo demo-asgi demo-otel demo-reset demo-test test docs bench lint dist-check graphs clean distclean

# The demo data is seeded once (while the database has no orders), so what you
# did in the demo survives a restart; `make demo-reset` seeds it afresh.
demo: $(VENV)/.demo-installed
	@# runserver shows the system check warnings; no need to print them three times.
	$(MANAGE) migrate --no-input --verbosity 0 --skip-checks
	$(MANAGE) seed_demo --skip-checks --if-empty
	@echo "Example project on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# The same under uvicorn (ASGI); config/asgi.py serves the static files while DEBUG.
demo-asgi: $(VENV)/.demo-installed
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check uvicorn
	$(MANAGE) migrate --no-input --verbosity 0
	$(MANAGE) seed_demo --skip-checks --if-empty
	@echo "Example project under uvicorn on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	cd example_project && ../$(VENV)/bin/python -m uvicorn config.asgi:application \
		--host 127.0.0.1 --port $(PORT)

# The example project under OpenTelemetry's auto-instrumentation, signal spans on
# (EXAMPLE_OTEL=1): spans printed to the console, or sent by OTLP/HTTP to
# OTEL_EXPORTER_OTLP_ENDPOINT when it is set (Jaeger, Tempo, a collector).
OTEL_PACKAGES := opentelemetry-distro opentelemetry-exporter-otlp-proto-http \
	opentelemetry-instrumentation-django
demo-otel: $(VENV)/.demo-installed
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[toolbar,otel]' $(OTEL_PACKAGES)
	$(MANAGE) migrate --no-input --verbosity 0 --skip-checks
	$(MANAGE) seed_demo --skip-checks --if-empty
	@echo "Example project on http://127.0.0.1:$(PORT)/ with signal spans (Ctrl-C stops it)"
	@traces=console; metrics=none; \
	if [ -n "$$OTEL_EXPORTER_OTLP_ENDPOINT" ]; then traces=otlp; metrics=otlp; fi; \
	echo "+ opentelemetry-instrument (traces: $$traces) manage.py runserver --noreload"; \
	EXAMPLE_OTEL=1 DJANGO_SETTINGS_MODULE=config.settings PYTHONPATH=example_project \
	OTEL_SERVICE_NAME=$${OTEL_SERVICE_NAME:-signal-inspector-demo} \
	OTEL_TRACES_EXPORTER=$$traces OTEL_METRICS_EXPORTER=$$metrics OTEL_LOGS_EXPORTER=none \
	OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
	$(VENV)/bin/opentelemetry-instrument $(MANAGE) runserver --noreload 127.0.0.1:$(PORT)

demo-reset: $(VENV)/.demo-installed
	$(MANAGE) migrate --no-input --verbosity 0 --skip-checks
	$(MANAGE) seed_demo --skip-checks

# The example project's own tests (example_project/shop/tests), in the demo venv.
demo-test: $(VENV)/.demo-installed
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check pytest pytest-django
	cd example_project && ../$(VENV)/bin/python -m pytest -q

# Builds the sdist and the wheel and checks them as PyPI would (`twine check --strict`).
dist-check: | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check build twine
	bash scripts/check_dist.sh $(VENV)/bin/python

# The docs site into build/docs/html, warnings as errors (as CI builds it).
docs: | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r docs/requirements.txt
	rm -rf build/docs/html
	$(VENV)/bin/python -m sphinx -W --keep-going -n -b html docs build/docs/html
	@echo "Open build/docs/html/index.html"

# Every nox session (`bash .ci/test.sh -s lint docs` runs some; `-l` lists them).
test:
	bash .ci/test.sh

# Redraws docs/signalmap.png and docs/signaltrace.png from the example project (needs Graphviz).
graphs: $(VENV)/.demo-installed
	PYTHON=$(CURDIR)/$(VENV)/bin/python bash scripts/draw_graphs.sh

# Every benchmark, side by side, into BENCHMARKS.md (under 10 minutes on 2 cores).
bench: $(VENV)/.demo-installed
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check sentry-sdk \
		-e '.[toolbar,otel]' opentelemetry-sdk opentelemetry-instrumentation-django
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
	rm -rf example_project/db.sqlite3 build dist .cache artifacts .pytest_cache *.egg-info
	find . -path ./.git -prune -o -name '.venv*' -prune -o -name __pycache__ -type d -prune \
		-exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .venv-nox .nox .venv-test-dj52 .venv-test-dj60 .venv-test-dj6
