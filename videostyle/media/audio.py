"""Audio remux: the packets of a source's audio streams copied unchanged into an output container, shifted to
the output's timeline and cut to a range (no re-encoding).

Audio: the packets of every audio stream of ``audio_from`` are copied unchanged (no re-encoding), restricted to
``audio_range`` = (start, end) seconds on the ``Frame.pts`` timeline when given (``end`` None: up to the end of
the last frame written). When ``like`` is a trimmed :class:`FrameReader` and no ``audio_range`` is given, the
reader's range is used. Audio packets before the first frame are dropped, so a trimmed result's audio may start
up to one audio frame (~21 ms for AAC at 48 kHz) late. Audio is interleaved while video is written (streaming).
"""

from __future__ import annotations

from collections.abc import Iterator

import av
import av.error

from .probe import open_input


class AudioCopier:
    """Streams the audio packets of a source into an output container, shifted and cut to a range."""

    def __init__(self, source: str, out: av.container.OutputContainer) -> None:
        self.source = source
        self.input = open_input(source)
        self.pairs = {s.index: out.add_stream_from_template(s) for s in self.input.streams.audio}
        self.out = out
        self._packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        self.lo: float | None = None  # raw seconds; packets before are dropped
        self.hi: float | None = None  # raw seconds; packets at or after are dropped
        self.shift = 0.0  # raw seconds subtracted from every packet
        self.done = not self.pairs

    def start(self, lo: float | None, shift: float) -> None:
        self.lo, self.shift = lo, shift
        if lo is not None and lo > 1.0:
            try:
                self.input.seek(int((lo - 1.0) * 1_000_000), backward=True)
            except av.error.FFmpegError:
                pass
        self._packets = self.input.demux(*self.input.streams.audio)

    def _next(self) -> av.Packet | None:
        if self._pending is not None:
            packet, self._pending = self._pending, None
            return packet
        assert self._packets is not None
        for packet in self._packets:
            if packet.size == 0 or (packet.pts is None and packet.dts is None):
                continue
            return packet
        return None

    def mux_until(self, limit: float | None) -> None:
        """Mux packets with raw time < ``limit`` (all remaining when None), within [lo, hi)."""
        if self.done or self._packets is None:
            return
        while True:
            packet = self._next()
            if packet is None:
                self.done = True
                return
            tb = packet.time_base
            stamp = packet.pts if packet.pts is not None else packet.dts
            assert stamp is not None and tb is not None
            t = float(stamp * tb)
            if limit is not None and t >= limit:
                self._pending = packet
                return
            if self.hi is not None and t >= self.hi - 1e-9:
                continue
            if self.lo is not None and t < self.lo - 1e-9:
                continue
            shift_ticks = int(round(self.shift / tb))
            if packet.pts is not None:
                packet.pts -= shift_ticks
            if packet.dts is not None:
                packet.dts -= shift_ticks
            packet.stream = self.pairs[packet.stream.index]
            self.out.mux(packet)

    def close(self) -> None:
        self.input.close()

