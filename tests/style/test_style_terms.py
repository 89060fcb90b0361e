"""The loss terms that hold their targets (videostyle/style/terms.py) and the Objective that weighs them."""

from __future__ import annotations

import pytest
import torch

from videostyle.style.losses import gram_matrix
from videostyle.style.terms import ContentLoss, Objective, StyleLoss, TemporalLoss


def _features(x: torch.Tensor, layers) -> dict[str, torch.Tensor]:
    return {"a": x * 2.0, "b": torch.nn.functional.avg_pool2d(x, 2)}


def test_each_term_is_zero_at_its_target_and_positive_elsewhere() -> None:
    torch.manual_seed(0)
    target, other = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    zero = target.new_zeros(())
    content = ContentLoss(_features(target, ()), ("a", "b"))
    style = StyleLoss({k: gram_matrix(v) for k, v in _features(target, ()).items()}, {"a": 1.0, "b": 1.0})
    temporal = TemporalLoss([(target, torch.ones(1, 1, 8, 8), 3.0)])
    for term, arg in ((content, _features), (style, _features)):
        assert float(term(arg(target, ()), zero)) == pytest.approx(0.0, abs=1e-6)
        assert float(term(arg(other, ()), zero)) > 0
    assert float(temporal(target, zero)) == 0.0 and float(temporal(other, zero)) > 0
    assert float(StyleLoss({}, {})(_features(other, ()), zero)) == 0.0  # no targets: no style term


def test_the_objective_weighs_the_terms_and_they_sum_to_the_total() -> None:
    torch.manual_seed(1)
    target, x = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    feats = _features(target, ())
    terms = dict(content=ContentLoss(feats, ("a",)), style=StyleLoss({"b": gram_matrix(feats["b"])}, {"b": 1.0}),
                 temporal=TemporalLoss([(target, torch.ones(1, 1, 8, 8), 2.0)]))
    total, parts = Objective(_features, ("a", "b"), weights=(1.0, 10.0, 5.0), **terms)(x)
    assert float(total) == pytest.approx(sum(float(v) for v in parts.values()))
    unweighted, _ = Objective(_features, ("a", "b"), weights=(1.0, 0.0, 0.0), **terms)(x)
    assert float(unweighted) == pytest.approx(float(parts["content"]) + float(parts["temporal"]))
    assert float(parts["style"]) == pytest.approx(10.0 * float(terms["style"](_features(x, ()), x.new_zeros(()))))
