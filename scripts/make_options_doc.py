"""Write docs/options.md, the full option reference, from the option schema (videostyle/config.py).

    python scripts/make_options_doc.py          # rewrite it
    python scripts/make_options_doc.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from videostyle._options_doc import render

DOC = Path(__file__).resolve().parents[1] / "docs" / "options.md"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python scripts/make_options_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
