"""Image sequence outputs (videostyle/media/writer/sequence.py): 8 and 16 bits, member names and numbers, stale
members of an older sequence."""

from __future__ import annotations

import os

import numpy as np

from media_fixtures import CLIP_SIZE as SIZE
from media_fixtures import assert_only
from videostyle.media import open_reader, open_writer, probe, read_image


def test_image_sequence_outputs_8_and_16_bit(tmp_path, sources):
    for codec, dtype in (("png", np.uint8), ("png16", np.uint16)):
        pattern = tmp_path / codec / "%05d.png"
        with open_reader(sources[".mkv"], max_frames=5) as reader, open_writer(pattern, like=reader,
                                                                               codec=codec) as writer:
            frames = [f.image for f in reader]
            for image in frames:
                writer.write(image)
        names = sorted(os.listdir(tmp_path / codec))
        assert names == [f"{i:05d}.png" for i in range(1, 6)]
        import cv2

        raw = cv2.imread(str(tmp_path / codec / names[0]), cv2.IMREAD_UNCHANGED)
        assert raw.dtype == dtype
        info = probe(pattern)
        assert info.kind == "sequence" and info.video.frames == 5
        with open_reader(tmp_path / codec) as reader:
            back = [f.image for f in reader]
        assert all(np.array_equal(x, y) for x, y in zip(frames, back, strict=True))
    assert_only(tmp_path, {"png", "png16"})


def test_uint16_frames_make_16_bit_pngs(tmp_path):
    image = (np.arange(48 * 64 * 3, dtype=np.uint32).reshape(48, 64, 3) * 7 % 65536).astype(np.uint16)
    with open_writer(str(tmp_path / "seq") + os.sep, size=SIZE) as writer:  # a directory-style path
        writer.write(image)
    import cv2

    raw = cv2.imread(str(tmp_path / "seq" / "00001.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and np.array_equal(raw[:, :, ::-1], image)


def test_rewriting_a_sequence_removes_stale_frames_and_keeps_other_files(tmp_path, scene):
    out_dir = tmp_path / "frames"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("keep me")
    for count in (6, 3):
        with open_writer(out_dir / "%05d.png", size=SIZE) as writer:
            for image in scene.frames[:count]:
                writer.write(image)
    assert sorted(os.listdir(out_dir)) == ["00001.png", "00002.png", "00003.png", "notes.txt"]


def test_members_are_named_by_the_numbers_written_and_a_rerender_keeps_the_rest(tmp_path, scene):
    pattern = tmp_path / "shot" / "out.####.png"
    with open_writer(pattern, size=SIZE) as writer:
        for n in range(1001, 1007):
            writer.write(scene.frames[n - 1001], number=n)
    assert sorted(os.listdir(tmp_path / "shot")) == [f"out.{n}.png" for n in range(1001, 1007)]
    with open_writer(pattern, size=SIZE) as writer:  # frames 1003-1004 again, from other pictures
        for n in (1003, 1004):
            writer.write(scene.frames[n - 1000 + 10], number=n)
    assert sorted(os.listdir(tmp_path / "shot")) == [f"out.{n}.png" for n in range(1001, 1007)]
    assert np.array_equal(read_image(tmp_path / "shot" / "out.1003.png"), scene.frames[13])
    assert np.array_equal(read_image(tmp_path / "shot" / "out.1001.png"), scene.frames[0])  # left alone
