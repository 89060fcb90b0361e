"""Training the student: the loss falls on real frames with the real backbone; a resumed run repeats an uninterrupted
one exactly; the stopping rules; the temporal term follows the pipeline's flow convention."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from style_images import painted_style
from videostyle import flow as flowlib
from videostyle.config import StyleConfig
from videostyle.fast import train
from videostyle.fast.net import StudentNet
from videostyle.fast.plan import scan
from videostyle.fast.train import KeyframeData, Trainer, flow_grid
import synthetic
from videostyle.media import Frame
from videostyle.style import Stylizer, load_backbone
from videostyle.style.backbones import tiny_backbone
from videostyle.tuning import EngineTuning



def _clip(frames: int = 8, size: tuple[int, int] = (80, 48)) -> np.ndarray:
    return synthetic.moving_scene(frames=frames, size=size, velocity=(1.5, 0.5), subject="chelsea").frames


def _pairs(images: np.ndarray, n: int = 4):
    return scan([Frame(index=i, pts=i / 24, image=im) for i, im in enumerate(images)], total=len(images),
                flow="dis-medium", cut_detector="none", cut_threshold=None, fps=24.0, keyframe_every=1000,
                keyframe_change=1.0, pairs=n, seed=0, on_keyframe=lambda k: None).pairs


def _trainer(stylizer: Stylizer, keyframes, pairs, *, steps: int, seed: int = 0, width: int = 8, **kw) -> Trainer:
    torch.manual_seed(seed)
    return Trainer(StudentNet(width, 2), keyframes, pairs, features=lambda x, layers: stylizer.backbone(x, layers),
                   style_targets=stylizer.style_targets, style_layers=stylizer.style_layers,
                   content_layers=stylizer.content_layers, style_layer_weights=stylizer.style_layer_weights,
                   style_weight=stylizer.config.style_weight, content_weight=stylizer.config.content_weight,
                   temporal_weight=200.0, device=torch.device("cpu"), seed=seed, steps=steps, **kw)


def test_loss_falls_on_real_frames_with_the_real_backbone():
    """Keyframes painted by the engine with vgg16-hed; the student learns them: the step loss (its average) falls
    and the network's output on a keyframe moves from the photo towards its painting."""
    torch.set_num_threads(1)
    images = _clip()
    stylizer = Stylizer([painted_style()], StyleConfig(model="vgg16-hed", device="cpu"),
                        backbone=load_backbone("vgg16-hed", layers=("relu1_1", "relu2_1", "relu3_1", "relu4_1",
                                                                    "relu4_2", "relu5_1")))
    keyframes = [KeyframeData(i, images[i], stylizer.run(images[i], iterations=40, seed=0).image) for i in (0, 7)]
    trainer = _trainer(stylizer, keyframes, _pairs(images), steps=60)

    def distance_to_painting() -> float:
        out = train.render(trainer.net.eval(), [keyframes[0].source], torch.device("cpu"))[0]
        return float(np.abs(out.astype(np.float32) - keyframes[0].painted).mean())

    before = distance_to_painting()
    steps: list[dict[str, float]] = []
    state = trainer.run(on_step=steps.append)
    after = distance_to_painting()
    assert state.stopped == "steps" and state.step == 60
    assert set(state.last_loss) == {"keyframe_l1", "keyframe_perceptual", "style", "content", "temporal", "total"}
    keyframe = [s["keyframe_l1"] + s["keyframe_perceptual"] for s in steps]
    assert np.mean(keyframe[-10:]) < 0.9 * np.mean(keyframe[:10]), keyframe
    assert after < 0.9 * before, (before, after)


@pytest.fixture
def tiny():
    torch.set_num_threads(1)
    images = _clip(6, (48, 32))
    stylizer = Stylizer([painted_style()], StyleConfig(device="cpu"), backbone=tiny_backbone(0))
    keyframes = [KeyframeData(0, images[0], 255 - images[0])]
    return stylizer, keyframes, _pairs(images, 3)


def test_resumed_training_repeats_an_uninterrupted_run(tiny, tmp_path):
    stylizer, keyframes, pairs = tiny
    whole = _trainer(stylizer, keyframes, pairs, steps=8)
    whole.run()
    first = _trainer(stylizer, keyframes, pairs, steps=8)
    for _ in range(3):
        first.step()
    first.save(tmp_path / "ckpt")
    resumed = _trainer(stylizer, keyframes, pairs, steps=8, seed=0)
    with torch.no_grad():  # a different start, overwritten by the checkpoint
        for p in resumed.net.parameters():
            p.add_(1.0)
    resumed.run(tmp_path / "ckpt")
    assert resumed.state.step == 8 and resumed.state.history == whole.state.history
    for a, b in zip(whole.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)


def test_a_finished_checkpoint_is_not_trained_again(tiny, tmp_path):
    stylizer, keyframes, pairs = tiny
    done = _trainer(stylizer, keyframes, pairs, steps=3)
    done.run(tmp_path / "ckpt")
    again = _trainer(stylizer, keyframes, pairs, steps=3)
    again.run(tmp_path / "ckpt")
    assert again.state.step == 3 and again.state.stopped == "steps"
    for a, b in zip(done.net.state_dict().values(), again.net.state_dict().values()):
        assert torch.equal(a, b)


def test_seconds_budget_and_convergence_stop_training(tiny):
    stylizer, keyframes, pairs = tiny
    short = _trainer(stylizer, keyframes, pairs, steps=100, seconds=1e-9)
    assert short.run().stopped == "seconds" and short.state.step == 1
    flat = _trainer(stylizer, keyframes, pairs, steps=100, tuning=EngineTuning(student_window=4))
    flat.state.history = [1.0] * 10  # an average that no longer moves
    assert flat.converged()
    flat.state.history = [2.0] * 6 + [1.0] * 4  # halved over the window
    assert not flat.converged()


def test_temporal_warp_follows_the_pipelines_flow_convention():
    """``flow_grid`` + grid_sample warps the previous output exactly as :func:`videostyle.flow.warp` (OpenCV) does
    with the same backward flow, so the temporal term holds the same pixels the optimisation engine holds."""
    rng = np.random.default_rng(0)
    prev = rng.random((32, 40, 3)).astype(np.float32)
    flow = np.stack(np.broadcast_arrays(np.float32(2.5), rng.uniform(-1, 1, (32, 40)).astype(np.float32)), -1)
    expected = flowlib.warp(prev, flow)
    t = torch.from_numpy(prev).permute(2, 0, 1)[None]
    got = F.grid_sample(t, flow_grid(flow, torch.device("cpu")), mode="bilinear", padding_mode="border",
                        align_corners=True)[0].permute(1, 2, 0).numpy()
    assert np.abs(got - expected)[2:-4, 2:-4].max() < 1e-4
