# The two commands: `make demo` and `make test`. Both install what is missing, build in release mode, and run.
SHELL := /bin/bash
.DEFAULT_GOAL := test

# Debian packages the build, the tests and the demo need.
APT_PACKAGES := libopenblas-dev libopenblas0-pthread libdnnl-dev liblmdb-dev libjpeg62-turbo-dev libpng-dev libwebp-dev \
                libgif-dev libcairo2-dev dataset-fashion-mnist
# Debian packages that make the reference (Chinese-CLIP on CPU PyTorch) for `make fixtures`.
REFERENCE_APT_PACKAGES := python3-torch python3-torchvision python3-lmdb python3-tqdm python3-venv python3-pil
REFERENCE_VENV ?= .venv-ref
CNCLIP := .build/release/cnclip

.PHONY: deps build test demo fixtures reference-venv parity-full clean

deps:
	@Scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	swift build -c release

test: deps
	swift build -c release --build-tests
	swift test -c release --skip-build

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

clean:
	rm -rf .build
