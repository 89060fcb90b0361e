"""Media I/O: probing, streaming decode, encode with audio remux, image sequences (PyAV, OpenCV, no torch).

See ``docs/architecture.md`` for the contract. Public names: :func:`probe`, :func:`working_size`, :class:`Frame`,
:class:`MediaInfo`, :class:`VideoInfo`, :class:`AudioInfo`, :func:`open_reader` (:class:`FrameReader`) and
:func:`open_writer` (:class:`FrameWriter`), plus :func:`validate_output` to check an output path and
:func:`check_encoder` to open the encoder with the job's settings before work.
"""

from .images import read_image, write_image
from .probe import DEFAULT_FPS, AudioInfo, MediaInfo, VideoInfo, probe, recorded_source_start, working_size
from .reader import Frame, FrameReader, frame_at, open_reader, resize_image
from .outputs import check_encoder, check_output_dir, output_kind, sequence_members, validate_output
from .writer import FrameWriter, open_writer

__all__ = [
    "DEFAULT_FPS",
    "AudioInfo",
    "Frame",
    "FrameReader",
    "FrameWriter",
    "MediaInfo",
    "VideoInfo",
    "frame_at",
    "resize_image",
    "sequence_members",
    "check_encoder",
    "check_output_dir",
    "open_reader",
    "open_writer",
    "output_kind",
    "probe",
    "recorded_source_start",
    "read_image",
    "validate_output",
    "working_size",
    "write_image",
]
