"""The engine's tuning record: every warm-frame and flow heuristic, in one frozen dataclass.

A newcomer changing how a warm frame is painted changes a field here (or passes another
:class:`EngineTuning` to :func:`videostyle.video.stylize`); the video engine hands the record down to the flow
stage, the :class:`~videostyle.style.Stylizer` and its optimiser, which fall back to :data:`TUNING` when none is
given. A record other than the default enters the frame store's hash, so frames of another tuning are never mixed
with these. Each field says what it means and what was measured when it was chosen (benchmarks/temporal.md holds
the runs).

Facts that are not tuning (the options' choices, file-format tables, the memory model in
``style/memory.py``) stay beside the code that uses them; ``tests/test_tuning.py`` checks that no other numeric
heuristic lives outside this record.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class EngineTuning:
    """Warm-frame and flow heuristics (defaults: the measured choices)."""

    # --- a warm frame's new content (style/focus.py, style/stylizer.py, style/optimize.py) -----------------------
    #: focus weights above this count as new content: its boxes, its paste-back, a warm frame's budget share
    focus_threshold: float = 0.5
    #: fewer new-content pixels than this are not worth a crop (the frame is done when the carried pixels are)
    min_focus_pixels: int = 16
    #: when the crops would cover more than this share of the frame, the whole frame is optimised instead
    max_crop_share: float = 0.6
    #: context margin around each part of the new content, as a share of the frame's long side (at least
    #: ``min_level_side`` px): the backbone's receptive field needs painted context around what it paints
    crop_margin: float = 0.125
    #: smallest side of a pyramid level (smaller levels are skipped) and half the smallest side of a crop
    min_level_side: int = 16
    #: the paste-back of painted new content: grown by this many px, then softened by a Gaussian of ``feather_sigma``
    feather_grow: int = 2
    #: sigma (px) of the paste-back's soft edge
    feather_sigma: float = 1.5
    #: new content painted on its own has settled once a window moves it by less than this share of the most a
    #: window moved it. Past its largest moves it turns into coloured speckle: an entering subject at 192×128 was
    #: 1.39× the per-frame baseline's moving-content stylisation at a quarter, 1.30× at a half
    focus_settle: float = 0.5
    #: ... and while it lies nearer the photo than the carried pixels do on average, it settles only below this
    #: share of ``focus_settle`` (0.5 × 0.7 = the 0.35 docs/guide.md quotes): the sample's moving content over 24
    #: frames at 96 px, 0.90× the per-frame run's stylisation without it, 0.91× with it
    short_settle: float = 0.7
    #: a warm frame has settled once ``gain_window`` iterations lower its loss by less than this share of what it
    #: has fallen since the start (its whole-frame phase; 0 with ``--change-tolerance 0``). Traced at 256 px: after
    #: 10 iterations the second window gained 0.30-0.31 of the fall, the third 0.06-0.08, and the carried pixels
    #: lay within 0.4-0.5 levels of where 15-20 took them: the phase now stops at 15 (20 under the pixel test
    #: alone). At 0.35 it stopped at 10, and with a 16-iteration budget a growing matte's new band got only 6 more
    warm_gain: float = 0.25
    #: the new content, painted on its own, settles under this share once it has reached ``reach_share`` of the
    #: carried painting's distance from the photo. Traced, it reached that in 15-20 iterations and then crept 2-5
    #: levels a window for 30-40 more, each window gaining 0.1-0.2 of the fall so far (the issue's user saw the
    #: frames of 30 and 100 budgets alike). 0.25 painted the 96 px entering subject less than the whole-frame rule
    #: does (test_video_quality: 1.08 against 1.13); 0.15 more. Measured at 256 px: benchmarks/warm.md
    reached_gain: float = 0.15
    #: ... and before it has reached it, under this share: with 0 (reach_share 1.0) warm frames at 256 px ran 50-95
    #: iterations, 0.27-0.35× the first frame's, their new content creeping towards a reach it seldom met
    short_gain: float = 0.1
    #: iterations between two checks of ``warm_gain`` / ``reached_gain`` / ``short_gain`` (from the second on)
    gain_window: int = 5
    #: the share of the carried pixels' mean distance from the photo that the new content must lie from its own
    #: photo to count as reached (also where ``short_settle`` stops applying): at 1.0 the traced frames reached it
    #: 5-10 iterations later
    reach_share: float = 0.9
    #: Adam's learning rate for images in [0, 1] when the configured one is left at L-BFGS's 1.0
    adam_lr: float = 0.02
    #: positions a region must cover at a layer for its guided Gram there to count (a strip a few pixels wide cannot
    #: hold a deep layer's structures: forcing them over-paints it)
    min_guided_positions: float = 64.0

    # --- a warm frame's start (video/engine.py, video/warm.py, video/passes.py) -------------------------------------
    #: ``--fill cold`` (the default since session 10; about 1.6x ``match``'s time on a moving camera): a warm frame
    #: with new content starts it from a cold painting of the whole frame at this share of its side (a quarter of
    #: the cost per iteration). Painted from its photo, the third warm-bench clip's entering cup crept for 130-170
    #: iterations before it was painted like the rest (moving-content stylisation 0.73 of the per-frame run's at
    #: the stop rule's 25-35, 0.92 run to convergence); from a half-size cold painting it measured 0.98 at 30-45
    #: (benchmarks/warm.md)
    cold_scale: float = 0.5
    #: ... for at most this share of the first-frame budget (``--first-iterations``: 500 gives 100; its whole-frame
    #: change test may stop it sooner, and a budget of 0 paints no cold start)
    cold_share: float = 0.2
    #: ... and none when that is under this many iterations (the new content then starts as ``--fill match``'s):
    #: a cold start of 3 (``--first-iterations 16``) left a growing matte's new band less painted than ``match``'s
    #: recoloured photo (30.9 against 35.6, mean |out − photo|, tests/video/test_video_controls.py)
    min_cold_iterations: int = 20
    #: ... and the photo's detail that the smaller size cannot hold (the photo less its half-size version) is added
    #: back at this weight: without it the 96 px sample's entering cat, painted from a 48-pixel-wide cold start, was
    #: 0.60 as legible as the per-frame run's (session 8's match fill: 1.50); with it 1.00, its moving content 0.95
    cold_detail: float = 1.0
    #: fewest carried pixels whose colours ``--fill match`` maps from (fewer: the frame itself)
    min_matched: int = 64
    #: radius (px) of OpenCV's inpainting for ``--fill inpaint`` and ``--fill paint``
    inpaint_radius: float = 5.0
    #: multi-pass: share of the warped neighbour in a frame's start where the flow is reliable (Ruder et al.: 0.5)
    pass_blend: float = 0.5

    # --- flow (flow/) --------------------------------------------------------------------------------------------
    #: frames with a shorter long side are measured upscaled by the smallest whole factor reaching it. At its own
    #: 96×54 size DIS measured a face entering at 1.2 px a frame as 0.9–1.0 px (1.17–1.20 upscaled), consistently
    #: both ways, so the mask passed it and the carried painting slid off the face
    min_flow_side: int = 256
    #: occluded where |w̃ + ŵ|² > occlusion_rel (|w̃|² + |ŵ|²) + occlusion_abs (Sundaram et al., as Ruder et al.)
    occlusion_rel: float = 0.01
    #: see ``occlusion_rel``
    occlusion_abs: float = 0.5
    #: motion boundary where |∇û|² + |∇v̂|² > boundary_rel |ŵ|² + boundary_abs (Sundaram et al., as Ruder et al.)
    boundary_rel: float = 0.01
    #: see ``boundary_rel``
    boundary_abs: float = 0.002

    # --- cuts (video/shots.py) -------------------------------------------------------------------------------------
    #: fewest frames between two cuts (PySceneDetect's ``min_scene_len``): flashes do not split a shot
    min_shot_frames: int = 6

    # --- fast mode's student (fast/train.py, fast/run.py; measured in benchmarks/fast.md) ------------------------
    #: keyframe patches per training step, and their side (px): where the student learns the keyframes' painting
    student_key_patches: int = 4
    #: see ``student_key_patches``
    student_key_patch: int = 96
    #: style layers (from the first) whose features hold the student's output to the keyframes' painting
    student_perceptual_layers: int = 3
    #: weight of the per-pixel L1 term against that perceptual term (L1 ×3 with perceptual ×4 learnt no better)
    student_l1_weight: float = 10.0
    #: share of the engine's style + content loss (its --style-weight, --content-weight) in a step's loss
    student_style_share: float = 0.1
    #: longest side of the training pair's crop (px); whole frames below it
    student_crop: int = 256
    #: Adam's learning rate, cosine to 0 over --train-steps (6e-3 diverged to a flat image on keyframes alone)
    student_learning_rate: float = 2e-3
    #: the loss's exponential average, and the convergence stop: improved by less than ``student_converged``
    #: (relative) over ``student_window`` steps
    student_ema: float = 0.98
    #: see ``student_ema``
    student_window: int = 200
    #: see ``student_ema``
    student_converged: float = 0.01
    #: training pairs kept in memory at most (spread over the clip), and at most this many bytes of them
    student_pairs: int = 64
    #: see ``student_pairs``
    student_pair_bytes: int = 512 << 20
    #: residual blocks of the student (its width is --net-width): 3 renders 39 fps at 256×144 on 2 CPU threads
    student_blocks: int = 3
    #: a shot's last frame is a keyframe too when more than this share of it cannot be carried from the shot's
    #: last keyframe (fast/plan.py): on the sample clip a cat that enters in the first shot's last stretch (0.33 of
    #: the frame) stayed the network's near-photo picture without it. Slow stretches measured 0.04-0.09 (motion
    #: boundaries, edges), the benchmark clip's last 0.15
    student_close_share: float = 0.1
    #: keyframe strokes carried along the flow (fast/carry.py): the reliable region's edge fades over this many px
    student_carry_feather: float = 2.0
    #: unreliable pixels within about this many px of carried detail take its local average (0: the network's)
    student_carry_fill: float = 3.0
    #: weight of each end's strokes in a segment: nearness (1 − distance share) to this power. Mixing two ends
    #: fades the strokes; 4 keeps them stronger towards mid-segment than 2 for 5 % more warping error there
    #: (benchmarks/fast.md)
    student_carry_nearness: float = 4.0
    #: strokes are what lies above a blur of this many px, colour what lies below (fast/carry.py). Where strokes are
    #: carried, the student's own texture is taken from the keyframes too (this frame's shimmers: 1.4x the warping
    #: error), and the two ends' strokes mix keeping their contrast, their colours as they are. 2 and 4 px alike
    student_carry_split: float = 2.0
    #: window (px) of the two ends' strokes' local correlation, which tells the blend how much mixing fades them:
    #: the same strokes at both ends do not fade, independent ones do. 8 and 16 measured alike
    student_carry_correlation: float = 8.0

    def changed(self) -> dict[str, float | int]:
        """The fields that differ from the defaults (what enters the frame-store hash)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}


#: the measured defaults, used wherever no record is handed down
TUNING = EngineTuning()
