"""The NC paper's token-pair analyses over one seeded sample of token-position pairs per model.

- `entangle.pairs.zscores`: cross-layer z-scores of high-OI pairs and of their input distances
  (NC-F2), with the checks shared by every pair analysis;
- `entangle.pairs.neuron_pairs`: one layer's most entangled neurons and their top-OI pairs as token
  tables, negative shares and IO scatters (NC-F3, F5, F6).
"""
