"""Exception types raised by videostyle.

Every error a user can cause derives from :class:`VideostyleError`. Its ``str()`` is a single line that names
the file (or option) involved and the cause; the CLI prints exactly that line, without a traceback, and exits
with :attr:`VideostyleError.exit_code`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


class VideostyleError(Exception):
    """Base class of every user-facing error. ``str(err)`` is one line."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        one_line = " ".join(str(message).split())
        if self.path is not None and self.path not in one_line:
            one_line = f"{self.path}: {one_line}"
        super().__init__(one_line)


class UsageError(VideostyleError):
    """Invalid option values or combinations (exit code 2)."""

    exit_code = 2


class OptionError(UsageError, ValueError):
    """One option with an invalid value; ``key`` names the option (its manifest key), ``value`` what was given.

    Also a :class:`ValueError`, so that library callers passing a bad value (e.g. blend weights) can catch either.
    """

    def __init__(self, message: str, *, key: str = "", value: object = None) -> None:
        self.key = key
        self.value = value
        super().__init__(message)


class OptionsError(UsageError):
    """Every problem found in a mapping of options (a manifest job, ``StylizeConfig.from_mapping``).

    ``problems`` lists them, each naming the key and the value; ``str()`` joins them on one line.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class ConfigError(VideostyleError):
    """A configuration or manifest that cannot be used (exit code 2 when it comes from the command line)."""

    exit_code = 2


class ManifestError(ConfigError):
    """A manifest that cannot be run; ``problems`` lists every problem found (``str()`` joins them on one line)."""

    def __init__(self, path: str | os.PathLike[str], problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{os.fspath(path)}: {count}: " + "; ".join(self.problems))


# --- input -----------------------------------------------------------------------------------------------------
class InputError(VideostyleError):
    """An input (video, image, sequence, style image) cannot be used."""


class InputNotFoundError(InputError):
    """The input path does not exist."""


class InputIsDirectoryError(InputError):
    """A file was expected but a directory was given (and it holds no image sequence)."""


class EmptyInputError(InputError):
    """The input file has zero bytes."""


class UnreadableMediaError(InputError):
    """The file is not a media file that can be decoded (garbage, wrong extension, unknown format)."""


class TruncatedMediaError(InputError):
    """The media file is damaged or cut short."""


class NoVideoStreamError(InputError):
    """The file has no video stream (for example an audio-only file)."""


class NoFramesError(InputError):
    """The video stream (or the selected range) holds no frames."""


class MatteError(InputError):
    """The ``--mask`` matte cannot be used: missing, unreadable, or not aligned with the input's frames."""


# --- output ----------------------------------------------------------------------------------------------------
class OutputError(VideostyleError):
    """The output cannot be written."""


class UnsupportedOutputError(OutputError):
    """The output extension or codec is not supported."""


class OutputNotWritableError(OutputError):
    """The output directory does not exist or is not writable."""


class OutputExistsError(OutputError):
    """The output exists and ``--force`` was not given."""


# --- models, flow, runs ----------------------------------------------------------------------------------------
class WeightsError(VideostyleError):
    """Backbone weights cannot be found, loaded or do not match the architecture."""


class WeightsUnavailableError(WeightsError):
    """No weights file could be found or downloaded (as opposed to a file that exists but does not fit)."""


class FlowError(VideostyleError):
    """Invalid arguments to the optical-flow stage (shapes, dtypes, unknown methods)."""


class StyleError(VideostyleError):
    """Invalid arguments to the style engine."""


class UnknownModelError(OptionError, StyleError):
    """An unknown backbone name, wherever it is given (config, CLI, manifest, ``load_backbone``); exit code 2."""


class BlendWeightsError(OptionError, StyleError):
    """Style blend weights that do not fit the styles (count, negative, all zero), wherever they are given."""


class NetFileError(VideostyleError):
    """A trained network file (``--net``) that cannot be used: missing, garbage, truncated or mismatched.

    Exit code 2: it is refused before any work starts, like a bad option value."""

    exit_code = 2


class FrameStoreError(VideostyleError):
    """The frame store (work directory) cannot be used, e.g. it belongs to a different configuration."""


class WorkDirLockedError(FrameStoreError):
    """Another run holds the work directory (its host, process and start time are named); ``--wait-lock`` waits."""


class InsufficientMemoryError(VideostyleError):
    """The requested working size cannot fit in the memory available (checked before work starts)."""


class DeviceOutOfMemoryError(InsufficientMemoryError):
    """The accelerator (CUDA, MPS) ran out of memory during the optimisation; names the working size that fits."""


class JobFailedError(VideostyleError):
    """One or more batch jobs failed."""


class ClusterError(VideostyleError):
    """Ray cannot be started or its cluster cannot be reached (exit code 1, one line)."""


class RunInterrupted(VideostyleError):
    """The run was interrupted (SIGINT/SIGTERM); finished frames are kept and a rerun resumes (exit code 130)."""

    exit_code = 130
