# Sparsification: magnitude, Wanda, SparseGPT, Sparse Expansion; perplexity tables (WD-F9, WD-TA, WD-FA3, WD-V1).
