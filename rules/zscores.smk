# Layer-wise z-scores of high output/input-ratio token pairs and token-pair tables (NC-F2, F3, F5, F6).
