"""Parsers of option values given as text (frame ranges, style schedules), shared by the config's checks and the
code that uses the parsed values; :mod:`videostyle.config` re-exports them."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import OptionError, UsageError


def parse_frames(text: str | None) -> tuple[int, int] | None:
    """``"1001-1100"`` (or ``"1001"``) as (first, last) frame numbers, inclusive; None for None."""
    if text is None:
        return None
    first, sep, last = str(text).strip().partition("-")
    try:
        a, b = int(first), int(last) if sep else int(first)
    except ValueError:
        raise UsageError(f"invalid frames {text!r}: expected FIRST-LAST frame numbers, e.g. 1001-1100") from None
    if a < 0 or b < a:
        raise UsageError(f"invalid frames {text!r}: expected FIRST-LAST with 0 <= FIRST <= LAST")
    return a, b


def parse_style_schedule(items: Sequence[str] | None, styles: int | None = None
                         ) -> tuple[tuple[float, str, tuple[float, ...]], ...] | None:
    """``--style-schedule`` keys as ``((time, unit, weights), ...)``; None for None.

    Each key is ``TIME:STYLE``. TIME is seconds (``2``, ``2.5s``) or a frame number (``1048f``: a plate's number,
    or the frame's position in a video); STYLE is a style's 1-based position among ``--style`` (``2``) or one blend
    weight per style joined by ``/`` (``0.5/0.5``). Times increase, all in one unit; weights are normalised to
    sum 1. ``styles``: the number of styles, to check indices and weight counts against.
    """
    if items is None:
        return None
    key, flag = "style_schedule", "--style-schedule"  # messages name the option as the command line spells it
    if not items:
        raise OptionError(f"invalid {flag}: no keys given (expected TIME:STYLE,...)", key=key, value=items)
    keys = []
    for item in items:
        when, sep, what = str(item).strip().partition(":")
        when, what = when.strip().lower(), what.strip()
        unit = "f" if when.endswith("f") else "s"
        try:
            t = float(when.rstrip("fs"))
            parts = [float(w) for w in what.split("/")] if "/" in what else None
            index = None if parts is not None else int(what)
        except ValueError:
            t, parts, index = math.nan, None, None
        if not sep or not math.isfinite(t) or t < 0 or (parts is None and index is None):
            raise OptionError(f"invalid {flag} key {item!r}: expected TIME:STYLE, e.g. 2:1 (style 1 at 2 s), "
                              "3.5:0.5/0.5 (blend weights) or 1048f:2 (at frame 1048)", key=key, value=items)
        if index is not None:
            if styles is None and index < 1:
                index = 1  # checked with the number of styles (the config's own check) to say how many there are
            if index < 1 or (styles is not None and index > styles):
                raise OptionError(f"invalid {flag} key {item!r}: style {index} of "
                                  f"{styles if styles is not None else 'the'} --style images (count from 1)",
                                  key=key, value=items)
            n = styles if styles is not None else index
            parts = [1.0 if i == index - 1 else 0.0 for i in range(n)]
        assert parts is not None
        if styles is not None and len(parts) != styles:
            raise OptionError(f"invalid {flag} key {item!r}: {len(parts)} blend weights for {styles} styles",
                              key=key, value=items)
        if any(not math.isfinite(w) or w < 0 for w in parts) or not any(parts):
            raise OptionError(f"invalid {flag} key {item!r}: blend weights must be >= 0 and not all 0", key=key,
                              value=items)
        total = sum(parts)
        keys.append((t, unit, tuple(w / total for w in parts)))
    if len({unit for _, unit, _ in keys}) > 1:
        raise OptionError(f"invalid {flag} {tuple(items)!r}: mixes seconds and frame numbers (f)", key=key,
                          value=items)
    if any(b[0] <= a[0] for a, b in zip(keys, keys[1:])):
        raise OptionError(f"invalid {flag} {tuple(items)!r}: times must increase", key=key, value=items)
    return tuple(keys)
