# The two commands: `make demo` and `make test`. Both install what is missing, build in release mode, and run.
SHELL := /bin/bash
.DEFAULT_GOAL := test

# Debian packages the build, the tests and the demo need.
APT_PACKAGES := libopenblas-dev libopenblas0-pthread liblmdb-dev libjpeg62-turbo-dev libpng-dev libwebp-dev \
                libgif-dev libcairo2-dev dataset-fashion-mnist libfaiss-dev libssl-dev libsqlite3-dev
# The search service's browser test drives Debian's headless Chromium (with a CJK font for the page's Chinese);
# Scripts/bench/serve.sh loads the service with wrk.
APT_PACKAGES += chromium fonts-wqy-microhei wrk
# Debian packages that make the reference (Chinese-CLIP on CPU PyTorch) for `make fixtures`.
REFERENCE_APT_PACKAGES := python3-torch python3-torchvision python3-lmdb python3-tqdm python3-venv python3-pil
REFERENCE_VENV ?= .venv-ref
CNCLIP := .build/release/cnclip

.PHONY: deps build test test-kernels demo fixtures reference-venv parity-full clean test-api-fuzz

deps:
	@Scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	swift build -c release

test: deps
	swift build -c release --build-tests
	swift test -c release --skip-build
	Scripts/test-kernels.sh

# The numeric suites again under every OpenBLAS kernel this CPU can run (also the last step of `make test`).
test-kernels: deps
	swift build -c release --build-tests
	Scripts/test-kernels.sh

# Trains a small Chinese CLIP from scratch on Fashion-MNIST and evaluates it (results table + .build/demo/demo.html).
demo: build
	CNCLIP=$(CNCLIP) Scripts/demo.sh

# Regenerates the committed fixtures under Tests/Fixtures with the reference. Never run by `make test`.
reference-venv:
	@Scripts/install-deps.sh $(REFERENCE_APT_PACKAGES)
	@Scripts/fixtures/make-reference-venv.sh $(REFERENCE_VENV)

fixtures: reference-venv
	@for script in Scripts/fixtures/gen_*.py; do \
		echo "== $$script" >&2; \
		$(REFERENCE_VENV)/bin/python "$$script" || exit 1; \
	done

# Full-size random-weight ViT-B-16 + RoBERTa-base and RN50 + RBT3 against the reference (minutes; not in `make test`).
parity-full: build reference-venv
	$(REFERENCE_VENV)/bin/python Scripts/parity/parity_full.py $(CNCLIP) $${TMPDIR:-/tmp}/cnclip-parity-full

# schemathesis (PyPI, venv .venv-fuzz) against a live `cnclip serve`'s /openapi.json: fails on any 5xx (minutes; not in `make test`).
test-api-fuzz: build
	CNCLIP=$(CNCLIP) Scripts/fuzz/api-fuzz.sh

clean:
	rm -rf .build
