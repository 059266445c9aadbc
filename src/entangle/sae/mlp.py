"""The toy classifier whose hidden layer the SAEs decompose: in -> 64 (ReLU) -> 10 (NE §4.2)."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm


class MLP(nn.Module):
    """x [B, n_in] -> logits [B, n_classes]; hidden(x) = ReLU(fc1 x) [B, n_hidden]."""

    def __init__(self, n_in, n_hidden=64, n_classes=10):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_classes)

    def hidden(self, x):
        return F.relu(self.fc1(x))

    def logits_from_hidden(self, h):
        return self.fc2(h)

    def forward(self, x):
        return self.logits_from_hidden(self.hidden(x))


def batches(*tensors, batch_size, generator):
    """One shuffled epoch of minibatches (the last may be short), order drawn from `generator`.

    Same semantics as DataLoader(shuffle=True, generator=g) without its per-item overhead.
    """
    perm = torch.randperm(len(tensors[0]), generator=generator)
    for i in range(0, len(perm), batch_size):
        idx = perm[i:i + batch_size]
        yield tuple(t[idx] for t in tensors)


@torch.no_grad()
def accuracy(model, x, y, hidden_fn=None):
    """Top-1 accuracy in [0, 1]. hidden_fn(h) -> h' optionally replaces the hidden layer."""
    h = model.hidden(x)
    if hidden_fn is not None:
        h = hidden_fn(h)
    return (model.logits_from_hidden(h).argmax(-1) == y).float().mean().item()


def train_mlp(x_train, y_train, x_test, y_test, n_hidden=64, epochs=30, lr=1e-3, batch_size=32,
              seed=0, progress=True):
    """Train the MLP with Adam and cross-entropy, seeded and deterministic on CPU.

    Defaults (digits, 1347 train images): 30 epochs x 43 steps of 32 at lr 1e-3, about the
    ~1400 steps of the paper's 3 MNIST epochs (the paper gives no optimizer or lr).
    Returns (model in eval mode, test accuracy in [0, 1]).
    """
    torch.manual_seed(seed)
    model = MLP(x_train.shape[1], n_hidden, int(y_train.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    bar = tqdm(range(epochs), desc="mlp", disable=not progress)
    for _ in bar:
        for xb, yb in batches(x_train, y_train, batch_size=batch_size, generator=g):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return model, accuracy(model, x_test, y_test)
