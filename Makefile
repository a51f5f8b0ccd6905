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

.PHONY: install test lint streams bench clean

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

# ---------------------------------------------------------------------------------------------
# The paper's full stream set for CATALOG, written to OUT (default: the demo catalog, offline).
# Every ordering and its exact reversal; seeds 1-5 where the ordering is random; similarity from
# start ranks 1-5. Make rebuilds only what is older than its inputs.
EMBED_FLAGS ?= --backend sentence-transformers --model all-MiniLM-L6-v2 --device cpu
FREQ_FLAGS ?= --source wordfreq
SEEDS ?= 1 2 3 4 5
START_RANKS ?= 1 2 3 4 5
REPORT_TASKS ?= 20

TEMPLATE_FLAGS := $(if $(TEMPLATES),--templates $(TEMPLATES))
# The catalog and everything beside it (its class files), plus the override files.
CATALOG_INPUTS := $(shell find $(if $(wildcard $(CATALOG)/.),$(CATALOG),$(dir $(CATALOG))) -type f -not -name '.*') \
	$(YEARS) $(TEMPLATES)
EMBEDDINGS := $(OUT)/embeddings.npy
FREQUENCIES := $(OUT)/frequencies.json
SCORES := $(OUT)/scores.json

# $(1): stream name, $(2): arguments of `fomo-order order`, $(3): artifacts it reads
define stream_rule
$(OUT)/$(1).json: $(CATALOG_INPUTS) $(3) $(STAMP)
	$(FOMO) order $(2) -o $$@
STREAM_FILES += $(OUT)/$(1).json
endef
# $(1): stream name, $(2): arguments, $(3): artifacts: the stream and its exact reversal
define stream_pair
$(eval $(call stream_rule,$(1),$(2),$(3)))
$(eval $(call stream_rule,$(1)_reversed,$(2) --reverse,$(3)))
endef

STREAM_FILES :=
$(eval $(call stream_pair,performance,performance $(CATALOG) $(CATALOG_FLAGS) --scores $(SCORES),$(SCORES)))
$(eval $(call stream_pair,frequency,frequency $(CATALOG) $(CATALOG_FLAGS) --frequencies $(FREQUENCIES),$(FREQUENCIES)))
$(foreach k,$(START_RANKS),$(eval $(call stream_pair,similarity_start$(k),\
	similarity $(CATALOG) $(CATALOG_FLAGS) --embeddings $(EMBEDDINGS) --start-rank $(k),$(EMBEDDINGS))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,time_seed$(s),time $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,time-by-dataset_seed$(s),\
	time $(CATALOG) $(CATALOG_FLAGS) --within-year by-dataset --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,dataset_seed$(s),dataset $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,random_seed$(s),random $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))

# One stream per ordering, side by side.
REPORT_STREAMS := $(addprefix $(OUT)/,performance.json frequency.json similarity_start1.json time_seed1.json \
	time-by-dataset_seed1.json dataset_seed1.json random_seed1.json)

streams: $(STREAM_FILES) $(OUT)/report.png

$(EMBEDDINGS): $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) embed $(CATALOG) $(TEMPLATE_FLAGS) $(EMBED_FLAGS) -o $@

$(FREQUENCIES): $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) fetch-frequencies $(CATALOG) $(FREQ_FLAGS) -o $@

$(SCORES): $(EMBEDDINGS) $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) proxy-scores $(CATALOG) --embeddings $(EMBEDDINGS) -o $@

$(OUT)/report.png: $(REPORT_STREAMS) $(FREQUENCIES) $(EMBEDDINGS)
	$(FOMO) report $(REPORT_STREAMS) -o $@ --tasks $(REPORT_TASKS) --catalog $(CATALOG) $(if $(YEARS),--years $(YEARS)) \
		--frequencies $(FREQUENCIES) --embeddings $(EMBEDDINGS) --summary-json $(OUT)/report.json

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
