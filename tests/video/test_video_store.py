"""The frame store (videostyle/video/store.py): finished frames on disk, the resume point of a run."""

from __future__ import annotations

import numpy as np
import pytest

from videostyle.errors import FrameStoreError
from videostyle.video.store import FrameStore, count_records


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (12, 16, 3), dtype=np.uint8)


def test_frames_come_back_bit_for_bit_with_their_records(tmp_path) -> None:
    store = FrameStore(tmp_path / "w", "abc", {"size": 16})
    for i in range(3):
        store.put(i, _image(i), {"iterations": i})
    store.put(0, _image(9), {"source": True}, pass_no=0)
    store.put(1, _image(7), {"iterations": 5}, pass_no=2)
    assert [np.array_equal(store.get(i), _image(i)) for i in range(3)] == [True] * 3
    assert np.array_equal(store.get(0, 0), _image(9)) and np.array_equal(store.get(1, 2), _image(7))
    assert store.record(2)["iterations"] == 2 and store.record(2)["index"] == 2
    assert store.finished_prefix() == 3 and store.finished_prefix(2) == 0
    assert count_records(tmp_path / "w") == 4  # passes 1 and 2; the sources are not finished frames
    reopened = FrameStore(tmp_path / "w", "abc")
    assert np.array_equal(reopened.get(1), _image(1))


def test_a_damaged_frame_counts_as_not_finished(tmp_path) -> None:
    store = FrameStore(tmp_path / "w", "abc")
    for i in range(3):
        store.put(i, _image(i), {})
    png = tmp_path / "w" / "frames" / "p1" / "000001.png"
    png.write_bytes(png.read_bytes()[:-10])  # truncated
    assert store.record(1) is None and store.finished_prefix() == 1
    with pytest.raises(FrameStoreError, match="frame 1 of pass 1 is missing or damaged"):
        store.get(1)
    assert store.record(7) is None


def test_another_configuration_is_refused_unless_forced(tmp_path) -> None:
    FrameStore(tmp_path / "w", "abc").put(0, _image(0), {})
    with pytest.raises(FrameStoreError, match="different configuration"):
        FrameStore(tmp_path / "w", "xyz")
    fresh = FrameStore(tmp_path / "w", "xyz", force=True)
    assert fresh.record(0) is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "store.json").write_text("{not json")
    with pytest.raises(FrameStoreError, match="unreadable store.json"):
        FrameStore(tmp_path / "bad", "abc")
