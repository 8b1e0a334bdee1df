# Two commands for a newcomer: `make run` starts the simulator, `make test` runs every test.
# Both create .venv and install what they need from the package index.

PYTHON  ?= python3
VENV    ?= .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.cpppo-installed
TAGS    ?= SCADA=INT[1000]
ADDRESS ?= 0.0.0.0:44818

.PHONY: all run test trial pytest check bench venv clean help tools

help:
	@echo "make run    start the EtherNet/IP simulator ($(TAGS)) in .venv"
	@echo "make test   create .venv, install with test extras, run trial (unit) and pytest (end to end, installed wheel)"
	@echo "make check  ruff and mypy only (make test runs them first)"
	@echo "make trial  the unit tests only; make pytest: the end-to-end tests only (no coverage)"
	@echo "make bench  print the benchmark tables"

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel

# An ordinary editable install: cpppo is imported from the checkout, so an edit needs no reinstall.
# twistd finds plugins only in twisted/plugins folders on sys.path, which an editable install does
# not put there; so the checkout's plugins are linked into the venv's twisted/plugins, where the
# wheel installs them too.  A new plugin file is linked by the next make.
PLUGINS := $(wildcard twisted/plugins/*.py)
$(STAMP): $(VPY) pyproject.toml $(PLUGINS)
	$(VPY) -m pip install -q -e '.[test]'
	@plugins=$$($(VPY) -c 'import os, twisted.plugins as p; print(os.path.dirname(p.__file__))') && \
	 for f in $(PLUGINS); do ln -sf "$(CURDIR)/$$f" "$$plugins/"; done
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(VPY) -m cpppo.server.enip --address $(ADDRESS) -A $(TAGS)

# Test tools from Debian's packages, installed where we can (apt-get as root): tshark judges our
# EtherNet/IP frames (Wireshark's dissector), Chromium and its driver show the web API's live page.
TOOLS := tshark chromium chromedriver
tools:
	@missing=""; for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	        echo "installing test tools:$$missing"; \
	        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark chromium chromium-driver >/dev/null; \
	    else \
	        echo "missing test tools:$$missing (needs apt-get as root): their tests skip (and fail under CI)"; \
	    fi; \
	fi

# trial works in a temporary folder of its own, so the checkout stays as it was.
trial: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	 $(VENV)/bin/trial --temp-directory="$$tmp/_trial_temp" cpppo.tests

# The end-to-end tests, including tests/test_installed.py: it builds the wheel and the sdist,
# installs the wheel in a throwaway venv and checks the plugins, the scripts and trial there.
# Two pytest workers, a test file each at a time (its module fixtures, such as a plant of 300
# controllers, start once): most of these tests wait on servers and tools they started, so two
# workers halve the time on two cores; more would stretch the timeouts of the interop tests.
PYTEST_WORKERS ?= 2
PYTEST := -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile
pytest: $(STAMP) tools
	$(VPY) $(PYTEST) tests

# The checks: lint (ruff) and types (mypy, strict for the sans-IO layers); see pyproject.toml.
check: $(STAMP)
	$(VENV)/bin/ruff check cpppo tests bench twisted
	$(VENV)/bin/mypy

# Every test, under coverage: trial (unit) and pytest (end to end), with the Python subprocesses
# the tests start (servers, CLIs) measured too; the data goes to a temporary folder, then the
# table is printed and a total below the floor in pyproject.toml ([tool.coverage.report]) fails.
test: check tools
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && export COVERAGE_DATA_DIR="$$tmp" && \
	 $(VPY) -m coverage erase && \
	 $(VPY) -m coverage run -m twisted.trial --temp-directory="$$tmp/_trial_temp" cpppo.tests && \
	 $(VPY) -m coverage run $(PYTEST) tests && \
	 $(VPY) -m coverage combine -q && \
	 $(VPY) -m coverage report

bench: $(STAMP)
	$(VPY) bench/dfa_bench.py
	$(VPY) bench/codec_bench.py
	$(VPY) bench/server_bench.py
	$(VPY) bench/server_profile.py
	$(VPY) bench/client_bench.py
	$(VPY) bench/l5x_bench.py
	$(VPY) bench/modbus_bench.py
	$(VPY) bench/history_bench.py --events 100000
	$(VPY) bench/plant_bench.py

clean:
	rm -rf $(VENV) _trial_temp* .pytest_cache .hypothesis build dist *.egg-info
