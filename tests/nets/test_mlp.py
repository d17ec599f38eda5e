import pytest
import torch

from ganforge.nets.mlp import MLPDiscriminator, MLPGenerator


def test_shapes_and_pack():
    g = MLPGenerator(2, 2, width=16, depth=2)
    assert g(torch.randn(8, 2)).shape == (8, 2)
    d = MLPDiscriminator(2, width=16, depth=2, pack=4)
    assert d(torch.randn(8, 2)).shape == (2,)
    with pytest.raises(ValueError, match="divisible"):
        d(torch.randn(6, 2))


def test_pack_scores_samples_jointly():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, width=16, depth=2, pack=2)
    x = torch.randn(4, 2)
    swapped = x[[1, 0, 2, 3]]  # order within a pack matters: the input is a concatenation
    assert not torch.allclose(d(x)[0], d(swapped)[0])
    assert torch.allclose(d(x)[1], d(swapped)[1])


def test_minibatch_std_sees_diversity():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, width=16, depth=2, minibatch_std=True)
    same = torch.ones(4, 2)
    varied = torch.ones(4, 2)
    varied[1:] += torch.randn(3, 2)
    # sample 0 is identical in both batches; only the batch statistic differs
    assert not torch.allclose(d(same)[0], d(varied)[0])
    plain = MLPDiscriminator(2, width=16, depth=2)
    assert torch.allclose(plain(same)[0], plain(varied)[0])


def test_spectral_norm_parametrises_every_linear():
    d = MLPDiscriminator(2, width=16, depth=2, spectral_norm=True)
    linears = [m for m in d.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(hasattr(m, "parametrizations") for m in linears)
