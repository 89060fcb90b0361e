"""Value checks and suggestions shared by every layer (the one place their wording and cutoff live).

Each check names the value it got (kornia style) and raises the typed error the caller asks for, by default
:class:`~videostyle.errors.UsageError`. Library layers use these instead of writing their own comparisons.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import EmptyInputError, InputIsDirectoryError, InputNotFoundError, UsageError, VideostyleError

#: similarity (difflib ratio) above which a known name is offered as "did you mean"
SUGGEST_CUTOFF = 0.6


def closest(word: Any, known: Iterable[str]) -> str | None:
    """The known name closest to ``word`` (difflib, :data:`SUGGEST_CUTOFF`), or None."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=SUGGEST_CUTOFF)
    return close[0] if close else None


def did_you_mean(word: Any, known: Iterable[str], *, quote: bool = True) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""``; ``quote=False`` for options (``--size``)."""
    close = closest(word, known)
    if close is None:
        return ""
    return f" (did you mean {close!r}?)" if quote else f" (did you mean {close}?)"


def check_choice(name: str, value: Any, choices: Iterable[str], *, error: type[VideostyleError] = UsageError) -> Any:
    """Return ``value`` if it is one of ``choices``; else raise ``error`` naming it, with a suggestion."""
    options = tuple(choices)
    if value not in options:
        raise error(f"invalid choice {value!r} for {name}{did_you_mean(value, options)}; "
                    f"expected one of {', '.join(options)}")
    return value


def check_file(path: str | os.PathLike[str], *, missing: str, directory: str, empty: str) -> Path:
    """``path`` as a Path if it names a file that is not empty; else raise :class:`InputNotFoundError`,
    :class:`InputIsDirectoryError` or :class:`EmptyInputError` with the caller's wording of each (naming the path)."""
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(missing, path=p)
    if p.is_dir():
        raise InputIsDirectoryError(directory, path=p)
    if p.stat().st_size == 0:
        raise EmptyInputError(empty, path=p)
    return p


def is_number(value: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(name: str, value: Any, *, minimum: float | None = None, above: float | None = None,
                 maximum: float | None = None, integer: bool = False,
                 error: type[VideostyleError] = UsageError) -> Any:
    """Return ``value`` if it is a finite number (an integer when ``integer``) in the range; else raise ``error``.

    ``minimum``/``maximum`` are inclusive bounds, ``above`` an exclusive lower bound.
    """
    if integer and not (isinstance(value, numbers.Integral) and not isinstance(value, bool)):
        raise error(f"invalid {name} {value!r}: expected an integer")
    if not is_number(value):
        raise error(f"invalid {name} {value!r}: expected a number")
    if not math.isfinite(float(value)):
        raise error(f"invalid {name} {value!r}: must be a finite number")
    if minimum is not None and value < minimum:
        raise error(f"invalid {name} {value!r}: must be >= {_fmt(minimum)}")
    if above is not None and value <= above:
        raise error(f"invalid {name} {value!r}: must be > {_fmt(above)}")
    if maximum is not None and value > maximum:
        raise error(f"invalid {name} {value!r}: must be <= {_fmt(maximum)}")
    return value


def _fmt(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)
