import pytest
import torch

from entangle.sparsify.masks import nm_mask, threshold_mask
from entangle.sparsify.sparsity import Sparsity


@pytest.mark.parametrize(
    "spec, expected",
    [
        (0.5, Sparsity(0.5)),
        ("0.9", Sparsity(0.9)),
        (0, Sparsity(0.0)),
        ("2:4", Sparsity(0.5, 2, 4)),
        ((4, 8), Sparsity(0.5, 4, 8)),
        ("1:1", Sparsity(1.0, 1, 1)),
        (Sparsity(0.3), Sparsity(0.3)),
    ],
)
def test_parse_valid(spec, expected):
    assert Sparsity.parse(spec) == expected


@pytest.mark.parametrize("spec", [1.0, -0.1, "1.5", "half", "0:4", "3:2", "2:x", (2, 4, 8), (0, 4), True, None, "-1:4"])
def test_parse_invalid_names_value_and_range(spec):
    with pytest.raises(ValueError, match=r"\[0, 1\).*N:M|N:M.*\[0, 1\)|must have ratio"):
        Sparsity.parse(spec)


def test_str_round_trip():
    for spec in ["0.5", "2:4", "0.25"]:
        assert str(Sparsity.parse(spec)) == spec


def test_threshold_mask_counts_and_zero():
    score = torch.rand(64, 96, generator=torch.Generator().manual_seed(0))
    assert threshold_mask(score, 0.5).sum() == int(score.numel() * 0.5) + 1
    assert not threshold_mask(score, 0.0).any()


def test_nm_mask_pattern_and_divisibility():
    score = torch.rand(8, 16, generator=torch.Generator().manual_seed(0))
    mask = nm_mask(score, 2, 4)
    assert (mask.reshape(8, 4, 4).sum(-1) == 2).all()
    kept_min = score.masked_fill(mask, float("inf")).reshape(8, 4, 4).min(-1).values
    pruned_max = score.masked_fill(~mask, -float("inf")).reshape(8, 4, 4).max(-1).values
    assert (pruned_max <= kept_min).all()
    with pytest.raises(ValueError, match="divisible by M=4"):
        nm_mask(torch.rand(2, 6), 2, 4)
