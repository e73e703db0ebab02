# The two commands of the README are `make demo` and `make test`; CI runs `make test`.
PYTHON ?= python3

.PHONY: install demo lint test

# editable and pure (SOUVERAIN_MYPYC=0): the tests run the sources, and monkeypatching reaches them
install:
	SOUVERAIN_MYPYC=0 $(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'

# the language: DEMO_LANG=fr|en, else the environment's (SOUVERAIN_LANG, LC_ALL, LC_MESSAGES, LANG)
DEMO_LANG ?=
DEMO_LANG_OPTION = $(if $(DEMO_LANG),--lang $(DEMO_LANG))

demo: install
	souverain kb validate $(DEMO_LANG_OPTION)
	souverain who aws-european-sovereign-cloud $(DEMO_LANG_OPTION)
	$(PYTHON) scripts/demo.py $(DEMO_LANG_OPTION) m365pp.test web.test

lint: install
	ruff check src tests
	mypy --strict src/souverain/model src/souverain/kb
	mypy src/souverain
	$(PYTHON) -m souverain kb validate --strict

# the whole suite on the sources, then the compiled subset on the default (mypyc) wheel
test: install lint
	SOUVERAIN_TEST_POSTGRES="$${SOUVERAIN_TEST_POSTGRES:-$$(bash scripts/test_services.sh)}" $(PYTHON) -m pytest
	PYTHON=$(PYTHON) bash scripts/test_compiled.sh
