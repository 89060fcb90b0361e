"""``docs/options.md``, the full option reference, rendered from the option schema (:mod:`videostyle.config`).

Regenerate it after changing an option with ``python scripts/make_options_doc.py``; ``tests/test_options_doc.py``
checks the file is current.
"""

from __future__ import annotations

from typing import Any

from . import _schema
from .config import StylizeConfig

_HEADINGS = {"": "Job", "style": "Style (one frame)", "video": "Video (over time)", "encode": "Output",
             "range": "Range"}
_EFFECTS = {"frames": "frames", "output": "output only", "speed": "speed only", "run": "the run"}


def _value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _values(option: _schema.Option) -> str:
    s = option.spec
    if s.choices:
        return ", ".join(s.choices)
    bounds = []
    if s.minimum is not None:
        bounds.append(f"≥ {s.minimum:g}")
    if s.above is not None:
        bounds.append(f"> {s.above:g}")
    if s.maximum is not None:
        bounds.append(f"≤ {s.maximum:g}")
    kind = {int: "integer", float: "number", str: "path" if s.path else "text", bool: "flag"}[option.kind]
    if option.sequence and not s.repeat:
        kind = f"{kind}s, comma-separated"
    if s.metavar and option.kind is str and not s.path:
        kind = f"`{s.metavar}`"
    return kind + (" " + ", ".join(bounds) if bounds else "")


def render(cls: type = StylizeConfig) -> str:
    """The Markdown reference of every option of ``cls``."""
    lines = [
        "# Options",
        "",
        "Every option of `videostyle stylize`, generated from the option schema (`videostyle/config.py`) by",
        "`scripts/make_options_doc.py`; do not edit by hand. A manifest job (`videostyle batch`) takes the same",
        "options as keys with underscores (`--max-frames` → `max_frames`; `--style` → `style`); paths in a manifest",
        "are resolved beside it. *Changes*: **frames** options change the stylised frames, so they enter the frame",
        "store's hash (changing one restarts the frames; the others resume them); **output only** options change",
        "only what is written from the stored frames.",
    ]
    groups: dict[str, list[_schema.Option]] = {}
    for option in _schema.options(cls):
        groups.setdefault(option.path[0] if len(option.path) > 1 else "", []).append(option)
    for group, options in groups.items():
        lines += ["", f"## {_HEADINGS.get(group, group)}", "",
                  "| option | default | values | changes | what it does |", "|---|---|---|---|---|"]
        for o in options:
            flag = o.key if o.spec.positional else ", ".join(n for n in (o.spec.short, o.flag) if n)
            default = "required" if o.spec.required else _value(o.default)
            help_text = (o.spec.help or "").replace("%%", "%").replace("|", "\\|")
            lines.append(f"| `{flag}` | {default} | {_values(o)} | {_EFFECTS[o.spec.effect]} | {help_text} |")
    return "\n".join(lines) + "\n"
