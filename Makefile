# One command each. Every target creates .venv and installs what is missing first.
#   make book                 execute every notebook (PROFILE=default) and build _build/html
#   make test                 unit tests + every notebook in the smoke profile + book build + HTML check
#   make lab                  JupyterLab with the project's kernel
#   make book PROFILE=full DEVICE=cuda CHAPTER=eapm   paper-scale runs on a GPU, one chapter
#   make baselines            refresh tests/baselines from a smoke run
#   make platforms            resolve requirements.txt for macOS arm64, Windows and Linux (needs PyPI)
#   make lab LAB_ARGS="--no-browser --port 8899"   extra arguments for jupyter lab

PROFILE ?= default
DEVICE  ?= auto
LAB_ARGS ?=
# chapters executed at once by the runner (each kernel keeps one thread, so the numbers do not depend on it)
JOBS    ?= 2
CHAPTER ?=
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
MATHJAX := book/_static/mathjax/tex-mml-chtml.js
MATHJAX_VERSION := 3.2.2

# The library is imported from this checkout even if the venv's editable install
# points at another one (worktrees share a venv).
export PYTHONPATH := $(CURDIR)/lib
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# Idle OpenMP threads sleep instead of spinning: on a small shared CPU, spinning threads of one
# process steal the cores the others need (measured: eapm smoke 74 s passive vs 136 s active).
export OMP_WAIT_POLICY ?= PASSIVE

CHAPTER_ARGS := $(foreach c,$(CHAPTER),--chapter $(c))
JB_BUILD = $(VENV)/bin/jupyter-book build build/site --config _config.yml --toc $(CURDIR)/build/site/_toc.yml --path-output . -W -n --keep-going

.PHONY: install book test lab baselines unit notebooks site html-check clean platforms

install: $(STAMP) $(MATHJAX)

$(STAMP): requirements.txt lib/pyproject.toml
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e lib
	$(PY) -m ipykernel install --sys-prefix --name companion --display-name "Python (companion)" >/dev/null
	touch $@

# MathJax 3 from the npm registry, served by the book itself (no CDN at read time).
$(MATHJAX):
	rm -rf build/npm && mkdir -p build/npm book/_static/mathjax/output/chtml/fonts
	cd build/npm && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null && tar xzf mathjax-$(MATHJAX_VERSION).tgz
	cp build/npm/package/es5/tex-mml-chtml.js book/_static/mathjax/
	cp -r build/npm/package/es5/output/chtml/fonts/woff-v2 book/_static/mathjax/output/chtml/fonts/

notebooks: install
	$(PY) -m companion.book run --profile $(PROFILE) --device $(DEVICE) $(CHAPTER_ARGS) --jobs $(JOBS)

site: install
	$(PY) -m companion.book site >/dev/null
	rm -rf _build/html _build/.doctrees
	$(JB_BUILD)

book:
	$(MAKE) notebooks PROFILE=$(PROFILE)
	$(MAKE) site
	@echo "open _build/html/index.html"

unit: install
	$(PY) -m pytest tests/unit -q -n 2 -p no:cacheprovider
	$(PY) -m pytest --doctest-modules lib/companion -q -p no:cacheprovider

html-check: install
	$(PY) -m pytest tests/postbuild -q -p no:cacheprovider

test: install
	$(MAKE) unit
	$(MAKE) notebooks PROFILE=smoke DEVICE=cpu
	$(MAKE) site
	$(MAKE) html-check

baselines: install
	$(MAKE) notebooks PROFILE=smoke DEVICE=cpu
	$(PY) -m companion.book baselines --update $(CHAPTER_ARGS)

lab: install
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --config=notebooks/jupyter_server_config.py $(LAB_ARGS)

platforms: install
	$(PY) .ci/check_platforms.py

clean:
	rm -rf build _build
