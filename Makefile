# Two commands for a newcomer: `make run` starts the simulator, `make test` runs every test.
# Both create .venv and install what they need from the package index.

PYTHON  ?= python3
VENV    ?= .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.cpppo-installed
TAGS    ?= SCADA=INT[1000]
ADDRESS ?= 0.0.0.0:44818

.PHONY: all run test trial pytest bench venv clean help tools

help:
	@echo "make run    start the EtherNet/IP simulator ($(TAGS)) in .venv"
	@echo "make test   create .venv, install with test extras, run trial and pytest"
	@echo "make bench  print the benchmark tables"

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip setuptools wheel

# Editable in "compat" mode: the checkout itself goes on sys.path, so twistd finds twisted/plugins.
$(STAMP): $(VPY) setup.cfg setup.py pyproject.toml
	$(VPY) -m pip install -q -e '.[test]' --config-settings editable_mode=compat
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

trial: $(STAMP)
	$(VENV)/bin/trial cpppo.tests

pytest: $(STAMP)
	$(VPY) -m pytest -q -p no:cacheprovider tests cpppo/tests

test: $(STAMP) tools
	$(VENV)/bin/trial cpppo.tests
	$(VPY) -m pytest -q -p no:cacheprovider tests cpppo/tests

bench: $(STAMP)
	$(VPY) bench/dfa_bench.py
	$(VPY) bench/codec_bench.py
	$(VPY) bench/server_bench.py
	$(VPY) bench/client_bench.py
	$(VPY) bench/l5x_bench.py
	$(VPY) bench/modbus_bench.py
	$(VPY) bench/history_bench.py --events 100000

clean:
	rm -rf $(VENV) _trial_temp* .pytest_cache .hypothesis build *.egg-info
