# The two commands: `make demo` and `make test`. Both install what is missing, build in release mode, and run.
SHELL := /bin/bash
.DEFAULT_GOAL := test

# Debian packages the build, the tests and the demo need.
APT_PACKAGES := libopenblas-dev libopenblas0-pthread libdnnl-dev liblmdb-dev libjpeg62-turbo-dev libpng-dev libwebp-dev \
                libgif-dev libcairo2-dev dataset-fashion-mnist libfaiss-dev libssl-dev libsqlite3-dev \
                libopenmpi-dev openmpi-bin iproute2 pkg-config
# The search service's browser test drives Debian's headless Chromium (with a CJK font for the page's Chinese);
# Scripts/bench/serve.sh loads the service with wrk.
APT_PACKAGES += chromium fonts-wqy-microhei wrk
# Debian packages that make the reference (Chinese-CLIP on CPU PyTorch) for `make fixtures`.
REFERENCE_APT_PACKAGES := python3-torch python3-torchvision python3-lmdb python3-tqdm python3-venv python3-pil
REFERENCE_VENV ?= .venv-ref
HF_VENV ?= .venv-hf
CNCLIP := .build/release/cnclip

.PHONY: deps build test test-kernels demo fixtures reference-venv parity-full clean
.PHONY: hf-venv hf-fixtures hf-parity-full
.PHONY: test-api-fuzz
.PHONY: test-multihost bench-mpi

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

# The 2-rank training equality with each rank in its own network namespace (veth pair, 10.231.0.1/2; needs root
# and iproute2). Also part of `make test` when run as root.
test-multihost: deps
	swift build -c release --build-tests
	swift test -c release --skip-build --filter DistributedTests.MultiHostTests

# Step time and pairs/s of `cnclip train` on 1 and 2 MPI ranks (RN50 + RBT3, batch 16 per rank, 1 thread per rank).
bench-mpi: build
	Scripts/bench/mpi-scaling.sh 2

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

# Regenerates Tests/Fixtures/hf (and onnx) with transformers and onnxruntime; needs our binary for the
# round trip through transformers. Never run by `make test`.
hf-venv:
	@Scripts/install-deps.sh $(REFERENCE_APT_PACKAGES)
	@Scripts/fixtures/hf/make-hf-venv.sh $(HF_VENV)

hf-fixtures: build hf-venv
	$(HF_VENV)/bin/python Scripts/fixtures/hf/gen_hf.py --cnclip $(CNCLIP)
	$(HF_VENV)/bin/python Scripts/fixtures/hf/gen_onnx.py --cnclip $(CNCLIP)

# Full-size ViT-B-16 Hugging Face directory: our features, the reference's load_from_name of our converted .pt,
# and ONNX Runtime on our export, each against transformers (minutes, ~3 GB under TMPDIR; not in `make test`).
hf-parity-full: build hf-venv reference-venv
	Scripts/parity/hf_parity_full.sh $(CNCLIP) $(HF_VENV) $(REFERENCE_VENV) $${TMPDIR:-/tmp}/cnclip-hf-parity-full

# Full-size random-weight ViT-B-16 + RoBERTa-base and RN50 + RBT3 against the reference (minutes; not in `make test`).
parity-full: build reference-venv
	$(REFERENCE_VENV)/bin/python Scripts/parity/parity_full.py $(CNCLIP) $${TMPDIR:-/tmp}/cnclip-parity-full

# schemathesis (PyPI, venv .venv-fuzz) against a live `cnclip serve`'s /openapi.json: fails on any 5xx (minutes; not in `make test`).
test-api-fuzz: build
	CNCLIP=$(CNCLIP) Scripts/fuzz/api-fuzz.sh

clean:
	rm -rf .build
