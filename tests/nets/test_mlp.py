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


def test_conditional_generator_draws_each_class_from_its_own_input():
    torch.manual_seed(0)
    g = MLPGenerator(2, 2, width=16, depth=2, num_classes=3)
    z = torch.randn(1, 2).expand(4, 2)  # one latent for every row
    out = g(z, torch.tensor([0, 1, 2, 0]))
    assert torch.equal(out[0], out[3]) and not torch.allclose(out[0], out[1])
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    with pytest.raises(ValueError, match="labels"):
        MLPGenerator(2, 2, width=16, depth=2)(z, torch.zeros(4, dtype=torch.long))


def test_projection_head_adds_the_class_embedding_dot_the_features():
    torch.manual_seed(0)
    d = MLPDiscriminator(2, width=16, depth=2, num_classes=3, head="projection")
    x, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 1, 0])
    h = d.body(x)
    expected = h @ d.head.linear.weight[0] + d.head.linear.bias[0] + (d.head.embed(y) * h).sum(1)
    assert (d(x, y) - expected).abs().max().item() < 1e-5
    with pytest.raises(ValueError, match="only supported with the 'plain' head"):
        MLPDiscriminator(2, width=16, depth=2, num_classes=3, head="projection", pack=2)


@pytest.mark.parametrize("sn", [False, True])
def test_a_discriminator_saved_with_a_bare_linear_head_loads(sn):
    """Runs saved while the last layer was `head.weight` (a bare Linear) still load."""
    torch.manual_seed(0)
    d = MLPDiscriminator(2, width=16, depth=2, spectral_norm=sn)
    old = {k.replace("head.linear.", "head."): v for k, v in d.state_dict().items()}
    assert "head.bias" in old
    fresh = MLPDiscriminator(2, width=16, depth=2, spectral_norm=sn)
    fresh.load_state_dict(old)
    x = torch.randn(6, 2)
    d.eval(), fresh.eval()
    assert torch.equal(d(x), fresh(x))
