# Each stage runs in its own virtual environment, made on first use from its
# requirements file: training needs TensorFlow, serving must not have it.
PYTHON ?= python3
VENV := .venv
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: train export serve test bench image browser clean

train: $(VENV)/train/ready
	$(VENV)/train/bin/python -m train.train $(ARGS)

export: $(VENV)/train/ready
	$(VENV)/train/bin/python -m export.export $(ARGS)
	$(VENV)/train/bin/python -m readme

serve: $(VENV)/serve/ready
	$(VENV)/serve/bin/python -m serve $(ARGS)

test: $(VENV)/test/ready $(VENV)/serve/ready browser
	$(VENV)/test/bin/python -m pytest tests $(ARGS)

bench: $(VENV)/bench/ready $(VENV)/serve/ready $(VENV)/train/ready
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(VENV)/bench/bin/python -m bench.bench

# The serve image: needs a Docker engine, which the build machines here do not run.
image:
	docker build -t digit-reader .

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

$(VENV)/%/ready: requirements-%.txt
	rm -rf $(VENV)/$*
	$(PYTHON) -m venv $(VENV)/$*
	$(VENV)/$*/bin/pip install --quiet --upgrade pip
	$(VENV)/$*/bin/pip install --quiet -r $<
	touch $@

$(VENV)/test/ready $(VENV)/bench/ready: requirements-train.txt

clean:
	rm -rf $(VENV)
