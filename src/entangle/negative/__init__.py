"""Negative computation (NC §2.4): clamping negative activations, and the ablation's statistics.

- `entangle.negative.clamp`: the intervention. Forward hooks that clamp the selected neurons'
  negative pre-activations at 0, and which neurons (top-p% WD per layer, a seeded random control).
- `entangle.negative.modes`: the activations on arrays and the negative-mode counts of a layer's
  top-WD neurons (NC-F4 panels a-d, claim 30).
- `entangle.negative.stats`: the ablation's statistics over evaluation windows and random seeds
  (NC-F4 panels e, f, claim 31).

Only `clamp` needs torch (where a model is hooked); the other two run in the analysis env.
"""
