# fomo-order: `make streams` (install if needed, then write the demo streams) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FOMO := $(BIN)/fomo-order
STAMP := $(VENV)/.installed

CATALOG ?= configs/demo/catalog.yaml
OUT ?= streams
YEARS ?=
TEMPLATES ?=
CATALOG_FLAGS := $(if $(YEARS),--years $(YEARS)) $(if $(TEMPLATES),--templates $(TEMPLATES))

.PHONY: install test lint streams check-streams bench clean

install: $(STAMP)

# torch/torchvision are pinned to the releases these machines carry on local disk (a CUDA build that
# also runs on the CPU); open_clip needs torchvision, and PyPI's torchvision does not import beside torch 2.13.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check fomo_order tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

STREAMS := random dataset time time-by-dataset
streams: $(STAMP)
	mkdir -p $(OUT)
	$(FOMO) order random $(CATALOG) $(CATALOG_FLAGS) -o $(OUT)/random.json
	$(FOMO) order dataset $(CATALOG) $(CATALOG_FLAGS) -o $(OUT)/dataset.json
	$(FOMO) order time $(CATALOG) $(CATALOG_FLAGS) -o $(OUT)/time.json
	$(FOMO) order time $(CATALOG) $(CATALOG_FLAGS) --within-year by-dataset -o $(OUT)/time-by-dataset.json

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
