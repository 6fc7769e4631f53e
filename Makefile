# Tessera: `make demo` and `make test` set up what is missing, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tessera-installed
CSRC   := $(wildcard csrc/*.c csrc/*.h) csrc/build_ffi.py
# The modules compiled with mypyc, listed per layer (setup.py; hal/_compiled.py
# runs their source instead whenever the build is older than it).
LISTS  := $(wildcard hal/compiled_modules.txt fsw/compiled_modules.txt ground/compiled_modules.txt)
NATIVE := $(LISTS) $(shell cat $(LISTS) | grep -v '^\#')

.PHONY: all demo test soak mutants lint ext bench fuzz clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

# Reinstalling rebuilds the C extension and the compiled modules whenever
# csrc/, those modules or the metadata change.
$(STAMP): $(BIN)/python pyproject.toml setup.py $(CSRC) $(NATIVE)
	$(BIN)/python -m pip install -q -e '.[test,ground]'
	touch $@

demo: $(STAMP)
	$(BIN)/tessera demo

# The short forms only: tests marked `slow` (soaks, long fuzz runs) wait for `make soak`.
# One worker per core (pytest-xdist); each test module stays in one worker
# (tests/conftest.py). WORKERS=0 runs everything in one process.
WORKERS ?= auto
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow" -n $(WORKERS) --dist loadfile

# The long forms of the soak and fuzz tests (minutes; run before a release).
soak: $(STAMP)
	$(BIN)/python -m pytest -m slow

# Mutation testing of the flight code, one area at a time on every core (tens of
# minutes; not part of `make test`). Reports land in out/mutants/<area>.txt.
# MUTANTS="fsw-core --jobs 1 --only fsw/core/bus.py" narrows a run.
MUTANTS ?=
mutants: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,ground,mutation]'
	$(BIN)/python -m bench.mutants $(MUTANTS)

lint: $(STAMP)
	$(BIN)/ruff check .

# Rebuild only the C extension, in place (development loop).
ext: $(STAMP)
	$(BIN)/python csrc/build_ffi.py

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,ground,bench]'
	$(BIN)/python -m bench

# Coverage-guided fuzzing of every space-link decoder (a minute; the test suite runs a short form).
fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz_space_link -max_total_time=60
	$(BIN)/python -m bench.fuzz_bench_link -max_total_time=60

clean:
	rm -rf $(VENV) build out .pytest_cache .hypothesis $(foreach layer,hal fsw ground,$(layer)/*.so $(layer)/*/*.so)
