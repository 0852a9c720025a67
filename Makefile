# Each stage runs in its own virtual environment, made on first use from its
# requirements file: training needs TensorFlow, serving must not have it.
PYTHON ?= python3
VENV := .venv
export TF_CPP_MIN_LOG_LEVEL := 2
# Where `make serve` and `make stack` write the service's process id, for `make reload`.
PID_FILE ?= run/serve.pid

.PHONY: train export serve reload review stack test screenshots bench image browser nginx postgres clean

# ARGS go to the digit model's training, NUMBER_ARGS to the number model's (train/numbers.py).
train: $(VENV)/train/ready
	$(VENV)/train/bin/python -m train.train $(ARGS)
	$(VENV)/train/bin/python -m train.numbers $(NUMBER_ARGS)

export: $(VENV)/train/ready
	$(VENV)/train/bin/python -m export.export $(ARGS)
	$(VENV)/train/bin/python -m readme

serve: $(VENV)/serve/ready
	@mkdir -p $(dir $(PID_FILE))
	$(VENV)/serve/bin/python -m serve --pid-file=$(PID_FILE) $(ARGS)

# The running service serves the model files as they are now (checked first), without dropping a request.
reload: $(VENV)/serve/ready
	$(VENV)/serve/bin/python -m serve.reload --pid-file=$(PID_FILE)

# Corrections reviewed from a terminal, in the database the service uses: ARGS="list", "accept ID...",
# "reject ID...", "stats", "export --out corrections.npz".
review: $(VENV)/serve/ready
	$(VENV)/serve/bin/python -m serve.review $(ARGS)

# The service behind nginx, as in production: http://127.0.0.1:8080
stack: $(VENV)/serve/ready nginx
	@mkdir -p $(dir $(PID_FILE))
	$(VENV)/serve/bin/python -m deploy.stack --pid-file=$(PID_FILE) $(ARGS)

test: $(VENV)/test/ready $(VENV)/serve/ready browser nginx postgres
	$(VENV)/test/bin/python -m pytest tests $(ARGS)

# Rewrites the page's screenshots in tests/screenshots (`make test` takes them in a temporary folder).
screenshots: $(VENV)/test/ready $(VENV)/serve/ready browser
	SCREENSHOTS_DIR=tests/screenshots $(VENV)/test/bin/python -m pytest tests/test_web.py tests/test_web_number.py $(ARGS)

bench: $(VENV)/bench/ready $(VENV)/serve/ready $(VENV)/train/ready nginx
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(VENV)/bench/bin/python -m bench.bench

# The serve image: needs a Docker engine, which the build machines here do not run.
image:
	docker build -t digit-reader .

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Debian's nginx for the stack, and envsubst, with which the nginx image renders the
# config template (the tests render it both ways). deploy/stack.py starts nginx
# itself: the system nginx the package may have started on port 80 is stopped.
nginx:
	@[ -x /usr/sbin/nginx ] && command -v envsubst >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx gettext-base && { service nginx stop >/dev/null 2>&1 || true; }; }

# Debian's PostgreSQL, for the tests that keep corrections in it: they start a server of
# their own (tests/postgres.py); the system one the package may have started is stopped.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql && { service postgresql stop >/dev/null 2>&1 || true; }; }

$(VENV)/%/ready: requirements-%.txt
	rm -rf $(VENV)/$*
	$(PYTHON) -m venv $(VENV)/$*
	$(VENV)/$*/bin/pip install --quiet --upgrade pip
	$(VENV)/$*/bin/pip install --quiet -r $<
	touch $@

$(VENV)/test/ready $(VENV)/bench/ready: requirements-train.txt

clean:
	rm -rf $(VENV)
