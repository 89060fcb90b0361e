"""The package's shape: modules of one duty, none over 400 lines (docs/architecture.md says where each fact lives)."""

from __future__ import annotations

from pathlib import Path

import videostyle


def test_no_module_is_over_400_lines() -> None:
    root = Path(videostyle.__file__).parent
    long = {p.relative_to(root).as_posix(): n for p in root.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}, "split these modules by duty"
