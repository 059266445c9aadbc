import math

import numpy as np
import pytest
import torch

from entangle.sae import (MLP, NeuronEmbeddingLoss, SparseAutoencoder, load_digits_split,
                          neuron_embedding_metrics, neuron_report, reconstruction_metrics, train_mlp,
                          train_sae)
from entangle.sae.experiment import run_experiment


pytestmark = pytest.mark.usefixtures("one_thread")


def _set(sae, W_enc, b_enc, W_dec, b_dec):
    with torch.no_grad():
        for p, v in ((sae.enc.weight, W_enc), (sae.enc.bias, b_enc), (sae.dec.weight, W_dec), (sae.dec.bias, b_dec)):
            p.copy_(torch.as_tensor(v, dtype=torch.float32))


def test_sae_encoder_subtracts_b_dec():
    torch.manual_seed(0)
    sae = SparseAutoencoder(5, 7)
    x = torch.randn(3, 5)
    pre = (x - sae.b_dec) @ sae.W_enc.T + sae.enc.bias
    torch.testing.assert_close(sae.encode(x), torch.relu(pre))
    x_hat, f = sae(x)
    torch.testing.assert_close(x_hat, f @ sae.W_dec.T + sae.b_dec)
    # neuron embedding (x - b_dec) ⊙ W_enc[j] sums (+ b_enc) to the pre-activation
    torch.testing.assert_close(((x - sae.b_dec) * sae.W_enc[2]).sum(-1) + sae.enc.bias[2], pre[:, 2])


def _ne_setup():
    sae = SparseAutoencoder(3, 2)
    _set(sae, [[1.0, 2.0, 0.5], [0.3, 0.1, 1.0]], [0.0, 0.0], torch.zeros(3, 2), [0.0, 0.0, 0.0])
    return sae, NeuronEmbeddingLoss(2, 3, momentum=0.9)


def test_ne_loss_zero_for_one_direction_positive_otherwise():
    sae, ne = _ne_setup()
    v = torch.tensor([1.0, 2.0, 3.0])
    x1 = torch.tensor([[1.0], [0.5], [2.0]]) * v
    ne.update(x1, sae.encode(x1))
    assert ne.seen.all()
    x2 = torch.tensor([[3.0], [0.1]]) * v
    f2 = sae.encode(x2)
    assert (f2 > 0).all()
    assert ne.loss(x2, f2, sae.W_enc, sae.b_dec).item() == pytest.approx(0.0, abs=1e-6)
    x3 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    f3 = sae.encode(x3)
    l3 = ne.loss(x3, f3, sae.W_enc, sae.b_dec)
    assert l3.item() > 0.1
    l3.backward()                                           # differentiable w.r.t. W_enc
    assert sae.W_enc.grad is not None and sae.W_enc.grad.abs().sum() > 0


def test_ne_loss_ignores_unseen_and_inactive_neurons():
    sae, ne = _ne_setup()
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    f = sae.encode(x)
    assert (f > 0).all()
    assert ne.loss(x, f, sae.W_enc, sae.b_dec).item() == 0.0        # nothing seen yet
    ne.update(x[:1], torch.tensor([[1.0, 0.0]]))                     # only neuron 0 seen, avg = x[0]
    # neuron 0: row 0 matches its average (0), row 1 is orthogonal to it (1); neuron 1 unseen
    assert ne.loss(x, f, sae.W_enc, sae.b_dec).item() == pytest.approx(1.0)
    f0 = f.detach().clone()
    f0[1, 0] = 0                                                     # neuron 0 inactive on row 1
    assert ne.loss(x, f0, sae.W_enc, sae.b_dec).item() == pytest.approx(0.0, abs=1e-6)


def test_ne_running_average_equals_sequential_updates():
    torch.manual_seed(0)
    x = torch.randn(6, 4)
    f = torch.relu(torch.randn(6, 5))
    f[:, 4] = 0                                              # a neuron never active
    ne = NeuronEmbeddingLoss(5, 4, momentum=0.9)
    ne.update(x[:3], f[:3])
    ne.update(x[3:], f[3:])
    avg, seen = torch.zeros(5, 4), torch.zeros(5, dtype=torch.bool)
    for b in range(6):                                       # paper: one input at a time, Eq. 6
        for j in range(5):
            if f[b, j] > 0:
                avg[j] = 0.9 * avg[j] + 0.1 * x[b] if seen[j] else x[b]
                seen[j] = True
    torch.testing.assert_close(ne.h_avg, avg)
    assert ne.seen.tolist() == seen.tolist()


def _tiny_mlp():
    mlp = MLP(2, 2, 2)
    with torch.no_grad():
        mlp.fc1.weight.copy_(torch.eye(2)); mlp.fc1.bias.zero_()
        mlp.fc2.weight.copy_(torch.eye(2)); mlp.fc2.bias.zero_()
    return mlp


def test_sae_metrics_hand_made():
    mlp = _tiny_mlp()                                        # hidden = relu(x), logits = hidden
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]])
    y = torch.tensor([0, 1, 0])
    sae = SparseAutoencoder(2, 3)
    W_dec = [[0.0, 0.8, 0.0], [1.0, 0.0, 0.0]]
    _set(sae, [[1.0, 0.0], [0.5, 1.0], [-1.0, -1.0]], [0.0, 0.0, 0.0], W_dec, [0.0, 0.0])
    f = np.array([[1.0, 0.5, 0], [0, 2.0, 0], [3.0, 2.5, 0]])  # by hand; neuron 2 never fires
    x_hat = f @ np.array(W_dec).T
    t2 = reconstruction_metrics(mlp, sae, x, y)
    assert t2["mse"] == pytest.approx(((x.numpy() - x_hat) ** 2).mean())
    assert t2["mse_sum"] == pytest.approx(((x.numpy() - x_hat) ** 2).sum(1).mean())
    assert t2["l1"] == pytest.approx((1.5 + 2.0 + 5.5) / 3)
    assert t2["l1_total"] == pytest.approx(9.0)
    assert t2["l0_pct"] == pytest.approx(100 * 5 / 9)
    assert t2["acc"] == pytest.approx(100) and t2["acc_sae"] == pytest.approx(0)
    assert t2["acc_loss"] == pytest.approx(100)

    t3, per = neuron_embedding_metrics(sae, x, x)
    # neuron 0: examples 0, 2 -> embeddings [1, 0], [3, 0] (distance 0)
    # neuron 1: examples 0, 1, 2 -> [0.5, 0], [0, 2], [1.5, 1]
    c = 1.5 / math.hypot(1.5, 1.0)
    d1 = [1.0, 1 - c, 1 - 1.0 / math.hypot(1.5, 1.0)]
    assert per["size"].tolist() == [2, 3, 0]
    assert per["max_dist"][0] == pytest.approx(0.0, abs=1e-12) and per["max_dist"][1] == pytest.approx(1.0)
    assert per["mean_dist"][1] == pytest.approx(np.mean(d1))
    assert np.isnan(per["max_dist"][2]) and per["dead"].tolist() == [False, False, True]
    assert t3["max_dist"] == pytest.approx(0.5) and t3["mean_dist"] == pytest.approx(np.mean(d1) / 2)
    assert t3["size"] == pytest.approx(2.5) and t3["dead_pct"] == pytest.approx(100 / 3)
    t3_cap, per_cap = neuron_embedding_metrics(sae, x, x, max_examples=2)  # first 2 in test order
    assert per_cap["max_dist"][1] == pytest.approx(1.0) and per_cap["size"][1] == 3


def _small_digits():
    return load_digits_split(n_samples=300, seed=0)


def test_training_is_deterministic():
    d = _small_digits()
    kw = dict(epochs=2, progress=False, seed=3)
    m1, a1 = train_mlp(d["x_train"], d["y_train"], d["x_test"], d["y_test"], **kw)
    m2, a2 = train_mlp(d["x_train"], d["y_train"], d["x_test"], d["y_test"], **kw)
    assert a1 == a2 and all(torch.equal(p, q) for p, q in zip(m1.state_dict().values(), m2.state_dict().values()))
    with torch.no_grad():
        acts = m1.hidden(d["x_train"])
    kw = dict(d_sae=32, epochs=3, batch_size=16, ne_coeff=1e-2, warmup_steps=5, progress=False, seed=1)
    s1, h1 = train_sae(acts, **kw)
    s2, h2 = train_sae(acts, **kw)
    assert h1 == h2 and max(h1["ne"]) > 0
    assert all(torch.equal(p, q) for p, q in zip(s1.state_dict().values(), s2.state_dict().values()))
    s3, _ = train_sae(acts, **{**kw, "seed": 2})
    assert not torch.equal(s1.W_enc, s3.W_enc)


def test_digits_end_to_end_short():
    d = _small_digits()
    out = run_experiment(d, seed=0, mlp_kwargs=dict(epochs=3),
                         sae_kwargs=dict(d_sae=64, epochs=4, warmup_steps=5, batch_size=32), progress=False)
    assert 0 <= out["mlp_acc"] <= 100
    keys = ["mse", "mse_sum", "l1", "l1_total", "l0_pct", "acc_loss", "max_dist", "mean_dist", "size", "dead_pct"]
    assert [r["variant"] for r in out["rows"]] == ["standard", "ne"]
    for r in out["rows"]:
        for k in keys:
            assert np.isfinite(r[k]), (r["variant"], k, r[k])
    rep = neuron_report(out["mlp"], out["models"]["ne"], d["x_test"],
                        int((out["models"]["ne"].encode(out["mlp"].hidden(d["x_test"])) > 0).sum(0).argmax()),
                        d["stats"], d["image_shape"], n_examples=4)
    assert rep["activation_map"].shape == (8, 8) and rep["importance_map"].shape == (8, 8)
    assert rep["logit_effects"].shape == (10,) and rep["examples"].shape[1:] == (8, 8)
    from entangle.sae.plots import plot_sae_neuron
    fig = plot_sae_neuron(rep)
    assert len(fig.axes) >= 3
