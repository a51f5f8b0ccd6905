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

.PHONY: install test lint fuzz streams fif-streams bench clean

install: $(STAMP)

# torch/torchvision are pinned to the releases these machines carry on local disk (a CUDA build that
# also runs on the CPU); open_clip needs torchvision, and PyPI's torchvision does not import beside torch 2.13.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install --quiet -e ".[all,test,interop]"
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check fomo_order tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

# A longer, randomised fuzz of the readers (catalog, stream, counts, embeddings): exit 0-3, one line,
# no traceback, no partial file. Bounded: 150 examples per reader, about 1.5 minutes on 2 cores.
FUZZ_EXAMPLES ?= 150
fuzz: $(STAMP)
	FOMO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FOMO_FUZZ_RANDOM=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

# ---------------------------------------------------------------------------------------------
# The paper's full stream set for CATALOG, written to OUT (default: the demo catalog, offline).
# Every ordering and its exact reversal (made from the forward stream by `fomo-order reverse`: no second
# search); seeds 1-5 where the ordering is random; similarity from start ranks 1-5. Make rebuilds only
# what is older than its inputs. NAMING=fif writes FoMo-in-Flux's released file names instead (see
# fif-streams below).
EMBED_FLAGS ?= --backend sentence-transformers --model all-MiniLM-L6-v2 --device cpu
FREQ_FLAGS ?= --source wordfreq
SEEDS ?= 1 2 3 4 5
START_RANKS ?= 1 2 3 4 5
REPORT_TASKS ?= 20
NAMING ?= demo

TEMPLATE_FLAGS := $(if $(TEMPLATES),--templates $(TEMPLATES))
# The catalog and everything beside it (its class files), the FoMo-in-Flux class lists the demo catalog
# reads, plus the override files.
CATALOG_INPUTS := $(shell find $(if $(wildcard $(CATALOG)/.),$(CATALOG),$(dir $(CATALOG))) -type f -not -name '.*') \
	$(wildcard configs/fif/datasets/*.json) $(YEARS) $(TEMPLATES)
EMBEDDINGS := $(OUT)/embeddings.npy
FREQUENCIES := $(OUT)/frequencies.json
SCORES ?= $(OUT)/scores.json

# File names: $(1) is the seed or start rank. An empty reversed name: no reversal in that set.
ifeq ($(NAMING),fif)
performance_name = performance_sequence_1
frequency_name = frequency_sequence_1
similarity_name = similarity_sequence_$(1)
time_name = time_incremental_rsagg_$(1)
time_by_dataset_name = time_incremental_dschunked_$(1)
dataset_name =
random_name = random_sequence_$(1)
# FoMo-in-Flux released one reversal each of performance, frequency, similarity and random.
reversed_name = $(patsubst %_sequence_1,%_sequence_reverse_1,\
	$(filter performance_sequence_1 frequency_sequence_1 similarity_sequence_1 random_sequence_1,$(1)))
else
performance_name = performance
frequency_name = frequency
similarity_name = similarity_start$(1)
time_name = time_seed$(1)
time_by_dataset_name = time-by-dataset_seed$(1)
dataset_name = dataset_seed$(1)
random_name = random_seed$(1)
reversed_name = $(1)_reversed
endif

# $(1): stream name, $(2): arguments of `fomo-order order`, $(3): artifacts it reads
define stream_rule
$(OUT)/$(1).json: $(CATALOG_INPUTS) $(3) $(STAMP)
	$(FOMO) order $(2) -o $$@
STREAM_FILES += $(OUT)/$(1).json
endef
# $(1): forward stream name, $(2): name of its reversal
define reverse_rule
$(OUT)/$(2).json: $(OUT)/$(1).json $(STAMP)
	$(FOMO) reverse $$< -o $$@
STREAM_FILES += $(OUT)/$(2).json
endef
# $(1): stream name (none: skip), $(2): arguments, $(3): artifacts: the stream and, if named, its reversal
define stream_pair
$(if $(1),$(eval $(call stream_rule,$(1),$(2),$(3))))
$(if $(1),$(if $(call reversed_name,$(1)),$(eval $(call reverse_rule,$(1),$(call reversed_name,$(1))))))
endef

STREAM_FILES :=
$(eval $(call stream_pair,$(performance_name),performance $(CATALOG) $(CATALOG_FLAGS) --scores $(SCORES),$(SCORES)))
$(eval $(call stream_pair,$(frequency_name),frequency $(CATALOG) $(CATALOG_FLAGS) --frequencies $(FREQUENCIES),\
	$(FREQUENCIES)))
$(foreach k,$(START_RANKS),$(eval $(call stream_pair,$(call similarity_name,$(k)),\
	similarity $(CATALOG) $(CATALOG_FLAGS) --embeddings $(EMBEDDINGS) --start-rank $(k),$(EMBEDDINGS))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,$(call time_name,$(s)),time $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,$(call time_by_dataset_name,$(s)),\
	time $(CATALOG) $(CATALOG_FLAGS) --within-year by-dataset --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,$(call dataset_name,$(s)),dataset $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))
$(foreach s,$(SEEDS),$(eval $(call stream_pair,$(call random_name,$(s)),random $(CATALOG) $(CATALOG_FLAGS) --seed $(s))))

# One stream per ordering, side by side.
REPORT_STREAMS := $(addsuffix .json,$(addprefix $(OUT)/,$(performance_name) $(frequency_name) \
	$(call similarity_name,1) $(call time_name,1) $(call time_by_dataset_name,1) $(call dataset_name,1) \
	$(call random_name,1)))

streams: $(STREAM_FILES) $(OUT)/report.png

# FoMo-in-Flux's released stream set, under its file names, from the FoMo-in-Flux catalog (offline with
# the default EMBED_FLAGS / FREQ_FLAGS / proxy scores; set them for the paper's inputs).
FIF_CATALOG ?= configs/fif/catalog.yaml
FIF_OUT ?= fif-streams
fif-streams: $(STAMP)
	$(MAKE) streams NAMING=fif CATALOG=$(FIF_CATALOG) OUT=$(FIF_OUT) \
		EMBED_FLAGS="$(EMBED_FLAGS)" FREQ_FLAGS="$(FREQ_FLAGS)" $(if $(filter command line,$(origin SCORES)),SCORES=$(SCORES))

$(EMBEDDINGS): $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) embed $(CATALOG) $(TEMPLATE_FLAGS) $(EMBED_FLAGS) -o $@

$(FREQUENCIES): $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) fetch-frequencies $(CATALOG) $(FREQ_FLAGS) -o $@

$(OUT)/scores.json: $(EMBEDDINGS) $(CATALOG_INPUTS) $(STAMP)
	$(FOMO) proxy-scores $(CATALOG) --embeddings $(EMBEDDINGS) -o $@

$(OUT)/report.png: $(REPORT_STREAMS) $(FREQUENCIES) $(EMBEDDINGS)
	$(FOMO) report $(REPORT_STREAMS) -o $@ --tasks $(REPORT_TASKS) --catalog $(CATALOG) $(if $(YEARS),--years $(YEARS)) \
		--frequencies $(FREQUENCIES) --embeddings $(EMBEDDINGS) --summary-json $(OUT)/report.json

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
