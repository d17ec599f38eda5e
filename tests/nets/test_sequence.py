"""The sequence nets: the LSTM against its gate equations worked out in numpy, its sampler, the
Gumbel-softmax limits and the CNN discriminator on ids and one-hot rows alike."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.nets.sequence import (
    SequenceCNN,
    SequenceLSTM,
    gumbel_noise,
    gumbel_softmax,
)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_one_oracle_step_matches_the_gate_equations_by_hand():
    net = SequenceLSTM(7, 3, 4, 2, std=1.0, generator=torch.Generator().manual_seed(1)).double()
    p = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    tokens = torch.tensor([[5, 2]])
    # step 1 reads the start token 0 from h = c = 0; step 2 reads token 5
    h, c = np.zeros(4), np.zeros(4)
    logits = []
    for x in (p["g_embeddings"][0], p["g_embeddings"][5]):
        i = sigmoid(x @ p["Wi"] + h @ p["Ui"] + p["bi"])
        f = sigmoid(x @ p["Wf"] + h @ p["Uf"] + p["bf"])
        o = sigmoid(x @ p["Wog"] + h @ p["Uog"] + p["bog"])
        cand = np.tanh(x @ p["Wc"] + h @ p["Uc"] + p["bc"])
        c = f * c + i * cand
        h = o * np.tanh(c)
        logits.append(h @ p["Wo"] + p["bo"])
    got = net(tokens)[0].detach().numpy()
    assert abs(got - np.stack(logits)).max() < 1e-12
    logp = np.log(np.exp(logits[0]) / np.exp(logits[0]).sum())[5] + \
        np.log(np.exp(logits[1]) / np.exp(logits[1]).sum())[2]
    assert abs(float(net.log_probs(tokens).detach().sum()) - logp) < 1e-12


def test_the_inverse_cdf_sampler_draws_the_model_distribution():
    torch.manual_seed(0)
    net = SequenceLSTM(4, 3, 3, 2, std=1.0)
    with torch.no_grad():
        seqs = net.sample(torch.rand(40_000, 2))
        first = torch.softmax(net(torch.zeros(1, 2, dtype=torch.long))[0, 0], -1)
    freq = torch.bincount(seqs[:, 0], minlength=4).double() / len(seqs)
    assert abs(freq - first.double()).max() < 0.01  # 4 sd of a share among 40,000
    # the second token given the first: the model's conditional
    given = seqs[seqs[:, 0] == 1]
    with torch.no_grad():
        cond = torch.softmax(net(torch.tensor([[1, 0]]))[0, 1], -1).double()
    freq2 = torch.bincount(given[:, 1], minlength=4).double() / len(given)
    assert abs(freq2 - cond).max() < 4 * (0.25 / len(given)) ** 0.5


def test_a_temperature_draws_and_scores_p_to_the_power_one_over_t_renormalised():
    torch.manual_seed(0)
    net = SequenceLSTM(4, 3, 3, 1, std=1.0)
    with torch.no_grad():
        p = torch.softmax(net(torch.zeros(1, 1, dtype=torch.long))[0, 0], -1).double()
        sharp = p ** 2 / (p ** 2).sum()  # softmax(logits / 0.5) worked out from p
        seqs = net.sample(torch.rand(40_000, 1), temperature=0.5)
        logp = net.log_probs(torch.arange(4)[:, None], temperature=0.5)[:, 0].double()
        plain = net.log_probs(torch.arange(4)[:, None])[:, 0].double()
    freq = torch.bincount(seqs[:, 0], minlength=4).double() / len(seqs)
    assert abs(freq - sharp).max() < 0.01  # 4 sd of a share among 40,000
    assert abs(logp.exp() - sharp).max() < 1e-6
    assert abs(plain.exp() - p).max() < 1e-6 and abs(sharp - p).max() > 0.05


def test_continuing_a_prefix_keeps_it_and_matches_sampling_from_scratch():
    torch.manual_seed(0)
    net = SequenceLSTM(6, 3, 5, 5)
    u = torch.rand(8, 5)
    with torch.no_grad():
        full = net.sample(u)
        h, c = net.hidden_states(full)
        # the state that has read the start and full[:, :1] continues after full[:, :2]
        rest = net.continue_from(full[:, :2], (h[:, 1], c[:, 1]), u[:, 2:])
    assert torch.equal(rest, full)


def test_gumbel_softmax_is_one_hot_as_the_temperature_goes_to_zero():
    torch.manual_seed(0)
    logits = torch.randn(500, 6, dtype=torch.float64)
    noise = gumbel_noise(500, 6, logits)
    cold = gumbel_softmax(logits, 1e-4, noise)
    hard = F.one_hot((logits + noise).argmax(-1), 6).double()
    assert abs(cold - hard).max() < 1e-6
    warm = gumbel_softmax(logits, 1.0, noise)
    assert abs(warm - hard).max() > 0.1  # at tau = 1 the rows are far from one-hot
    assert abs(warm.sum(-1) - 1).max() < 1e-12


def test_the_argmax_of_gumbel_perturbed_logits_is_a_draw_from_the_softmax():
    torch.manual_seed(0)
    logits = torch.tensor([1.5, 0.0, -1.0, 0.5], dtype=torch.float64)
    n = 200_000
    noise = gumbel_noise(n, 4, logits)
    freq = torch.bincount((logits + noise).argmax(-1), minlength=4).double() / n
    p = torch.softmax(logits, -1)
    assert abs(freq - p).max() < 4 * (0.25 / n) ** 0.5


def test_the_relaxed_sample_of_g_is_differentiable_and_its_argmax_the_hard_token():
    torch.manual_seed(0)
    net = SequenceLSTM(9, 4, 4, 5)
    tokens, relaxed = net.gumbel_sample(16, 0.5)
    assert torch.equal(relaxed.argmax(-1), tokens)
    relaxed[..., 3].sum().backward()
    assert float(net.Wo.grad.abs().sum()) > 0 and float(net.Wi.grad.abs().sum()) > 0


def test_the_cnn_scores_ids_and_their_one_hot_rows_alike():
    torch.manual_seed(0)
    d = SequenceCNN(11, 5, (1, 2, 4), 3, dropout=0.5).eval()
    ids = torch.randint(11, (6, 7))
    assert abs(d(ids) - d(F.one_hot(ids, 11).float())).max() < 1e-5
