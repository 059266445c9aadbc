"""entangle: reproduce Wasserstein neurons, entanglement under sparsity, negative computation
and neuron embeddings (Sawmya et al. ICLR 2025; Kong, Ning, Shavit; Foote).

Science only: nothing here knows about Snakemake. The workflow (Snakefile, rules/, scripts/) calls in.
"""

__version__ = "0.1.0"
