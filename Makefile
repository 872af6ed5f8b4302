# Quick start (see README):  make demo   |   make test
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip install --disable-pip-version-check -q
OUT    ?= out

.PHONY: demo test bench report crossval model clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# one stamp per set of extras; each reinstalls only when pyproject.toml changes
$(VENV)/.preview: pyproject.toml | $(PY)
	$(PIP) -e ".[preview]" && touch $@
$(VENV)/.test: pyproject.toml | $(PY)
	$(PIP) -e ".[train,test]" && touch $@

# the PNG, and an MP4 of the song with both shows' lights (encoder above, buckets below)
demo: $(VENV)/.preview
	$(PY) -m train preview --out $(OUT) --video $(OUT)/sugar-plum-fairy_excerpt.preview.mp4 --compare

# pytest's exit code 5 (nothing collected) must not pass as success
test: $(VENV)/.test
	$(PY) -m pytest; rc=$$?; if [ $$rc = 5 ]; then echo "make test: no tests ran" >&2; exit 1; fi; exit $$rc

report: $(VENV)/.test
	$(PY) -m train report --out $(OUT)

# every real song held out in turn: trains 2 presets x (songs + 1) models, ~30 min on 2 cores
crossval: $(VENV)/.test
	$(PY) -m train crossval --out $(OUT)

bench: $(VENV)/.test
	$(PY) -m train bench --out $(OUT)

# rebuild the shipped default model from ../shared/music (see README)
model: $(VENV)/.test
	$(PY) -m train fit ../shared/music --preset default --out models/default

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
