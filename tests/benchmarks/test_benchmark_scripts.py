"""Every benchmark script still imports against the package as it is now (a moved module breaks a script that no
test runs; its page's command would then fail for the next reader)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")))
def test_the_script_imports(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    try:
        module = runpy.run_path(str(BENCHMARKS / script), run_name="benchmark_import_check")
    finally:  # the scripts import each other: each test imports them afresh
        for name, mod in list(sys.modules.items()):
            if Path(getattr(mod, "__file__", None) or "/").parent == BENCHMARKS:
                del sys.modules[name]
    assert callable(module.get("main")) or callable(module.get("parser")) or script.startswith("page_"), script
