# Every target sets itself up: a fresh clone needs only `make app` or `make test`.
PY      := .venv/bin/python
STAMP   := .venv/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: app test lint train-tiny bench clean-venv

# (Re)install only when pyproject.toml is newer than the stamp: a second run costs nothing.
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

app: $(STAMP)
	$(PY) -m app --checkpoint checkpoints/default

lint: $(STAMP)
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest -q

train-tiny: $(STAMP)
	$(PY) -m colorize train --config configs/cpu-tiny.toml --data ../shared/data/color --out runs/tiny

# Every benchmark, one JSON line per measurement; bench/RESULTS.md holds the latest figures.
bench: $(STAMP)
	@mkdir -p bench/out
	$(PY) bench/train_step.py --config configs/default-model.toml | tee bench/out/train_step.jsonl
	$(PY) bench/data.py --config configs/default-model.toml | tee bench/out/data.jsonl
	$(PY) bench/colorize.py | tee bench/out/colorize.jsonl
	$(PY) bench/scrape.py | tee bench/out/scrape.jsonl

clean-venv:
	rm -rf .venv
