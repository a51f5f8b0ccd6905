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

.PHONY: install lock lock-file lock-core core-python test test-fast test-core lint fuzz streams check-streams regenerate-streams fif-streams bench clean

install: $(STAMP)

# constraints.txt locks every package `make install` installs (exact versions, written by `make lock`),
# so two machines installing it get the same torch, sentence-transformers, transformers and numba, and
# regenerate the committed streams byte for byte. Only the packages a venv asks for are constrained.
LOCK := constraints.txt
REQUIREMENTS := -e ".[all,test,interop]"
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) $(REQUIREMENTS)
	$(BIN)/python -m fomo_order.similarity.warm_up   # the search kernels compiled now, not at the first run
	touch $(STAMP)

# `make lock`: re-resolve the newest releases into a fresh venv, freeze them into $(LOCK), reinstall
# .venv from it and regenerate the committed streams (review `git diff`, then commit both).
# torch/torchvision are pinned to the releases these machines carry on local disk (a CUDA build that
# also runs on the CPU); open_clip needs torchvision, and PyPI's torchvision does not import beside torch 2.13.
TORCH_PINS := "torch==2.14.1" "torchvision==0.29.1"
LOCK_VENV := .venv-lock
# The Pythons whose core tests CI runs (the oldest and newest that requires-python admits and these
# machines have), each with its own lock: a locked version may not exist for another Python.
CORE_PYTHONS ?= python3.10 python3.13
lock:
	$(MAKE) lock-file
	for py in $(CORE_PYTHONS); do $(MAKE) lock-core PY=$$py || exit 1; done
	$(MAKE) $(STAMP)
	$(MAKE) regenerate-streams
	git status --short -- $(OUT)

lock-file:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet $(TORCH_PINS)
	$(LOCK_VENV)/bin/python -m pip install --quiet $(REQUIREMENTS)
	$(call write_lock,$(LOCK_VENV),$(LOCK),$(REQUIREMENTS))
	rm -rf $(LOCK_VENV)

# $(1): venv, $(2): lock file, $(3): what was installed. The lock names releases only: a package from a
# direct URL or a local path would tie it to one machine, so that stops the lock.
define write_lock
	$(1)/bin/python -m pip freeze --exclude-editable > $(2).tmp
	! grep -n -e ' @ ' -e '^-e ' $(2).tmp >&2 || { echo "make: $(2): a package above is not a registry release" >&2; rm $(2).tmp; exit 1; }
	{ echo "# Written by \`make lock\`: every package of \`pip install $(subst ",,$(3))\` on $$($(1)/bin/python -c \
	'import platform; print("Python", platform.python_version(), platform.system(), platform.machine())'), exact versions."; \
	  echo "# Do not edit; used as \`pip install -c $(2)\`."; grep -v '^#' $(2).tmp; } > $(2)
	rm $(2).tmp
endef

lint: $(STAMP)
	$(BIN)/ruff check fomo_order tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

# The suite without the tests marked slow (pytest -m "not slow").
test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

# ---------------------------------------------------------------------------------------------
# `make test-core PY=python3.10`: the core tests (catalog, orderings other than similarity, split, reverse,
# fif-overrides, the readers) in .venv-3.10, which holds fomo-order's own dependencies, pytest and
# hypothesis, exactly as constraints-core-3.10.txt pins them, and neither torch nor numba. PY is a command
# or, when that does not run (a pyenv shim of a version that is not active), pyenv's newest such version.
PY ?= python3
PYENV_ROOT ?= $(HOME)/.pyenv
PY_EXE = $(or $(shell $(PY) -c 'import sys; print(sys.executable)' 2>/dev/null),\
	$(lastword $(shell ls -d $(PYENV_ROOT)/versions/$(patsubst python%,%,$(notdir $(PY))).*/bin/python 2>/dev/null | sort -V)))
PY_VERSION = $(shell $(PY_EXE) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
CORE_VENV = .venv-$(PY_VERSION)
CORE_LOCK = constraints-core-$(PY_VERSION).txt
CORE_REQUIREMENTS := -e . pytest hypothesis
CORE_TESTS := tests/test_catalog.py tests/orderings/test_order.py tests/test_split.py tests/orderings/test_properties.py tests/test_fif.py \
	tests/test_fuzz.py tests/hardening/test_files.py
# The tests of those files that need matplotlib or an embedding model.
CORE_DESELECT := tests/hardening/test_files.py::test_a_directory_in_the_way_of_the_embeddings_replaces_neither_file \
	tests/hardening/test_files.py::test_report_summary_json_a_directory_writes_nothing \
	tests/hardening/test_files.py::test_report_reads_a_meta_of_another_shape
core-python:
	@test -n "$(PY_EXE)" || { echo "make: no Python for PY=$(PY) (neither on PATH nor under $(PYENV_ROOT)/versions)" >&2; exit 2; }

test-core: core-python
	$(MAKE) $(CORE_VENV)/.installed PY_EXE=$(PY_EXE)
	$(CORE_VENV)/bin/python -m pytest -q -rs -p tests.core_only $(CORE_TESTS) $(addprefix --deselect ,$(CORE_DESELECT))

.venv-%/.installed: constraints-core-%.txt pyproject.toml
	test -x .venv-$*/bin/python || $(PY_EXE) -m venv .venv-$*
	.venv-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-$*/bin/python -m pip install --quiet -c $< $(CORE_REQUIREMENTS)
	touch $@

# The core lock of one Python (part of `make lock`): its newest releases of the core requirements, frozen.
lock-core: core-python
	rm -rf $(LOCK_VENV)-$(PY_VERSION)
	$(PY_EXE) -m venv $(LOCK_VENV)-$(PY_VERSION)
	$(LOCK_VENV)-$(PY_VERSION)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)-$(PY_VERSION)/bin/python -m pip install --quiet $(CORE_REQUIREMENTS)
	$(call write_lock,$(LOCK_VENV)-$(PY_VERSION),$(CORE_LOCK),$(CORE_REQUIREMENTS))
	rm -rf $(LOCK_VENV)-$(PY_VERSION)

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

# What a user's CI does: regenerate the committed streams in the working tree and fail, naming the
# files, on any difference from the commit. Every committed file under streams/ is deleted first and made
# again (so nothing passes for being newer than its inputs, and a file `make streams` no longer writes
# shows up as deleted); it refuses to start while streams/ has uncommitted changes, which it would lose.
check-streams: $(STAMP)
	@test -z "$$(git status --porcelain -- streams)" || { git status --short -- streams >&2; \
		echo "make check-streams: streams/ has uncommitted changes (above); commit or restore them first" >&2; exit 2; }
	$(MAKE) regenerate-streams
	@test -z "$$(git status --porcelain -- streams)" || { git status --short -- streams >&2; \
		echo "make check-streams: regenerating changed the committed files above (git diff -- streams)" >&2; exit 1; }
	@echo "make check-streams: every committed file under streams/ regenerates byte for byte"

regenerate-streams: $(STAMP)
	git ls-files -z -- streams | xargs -0 rm -f
	$(MAKE) streams CATALOG=configs/demo/catalog.yaml OUT=streams YEARS= TEMPLATES= NAMING=demo

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
	rm -rf $(VENV) .venv-[0-9]* $(LOCK_VENV)* .pytest_cache .ruff_cache .mypy_cache
