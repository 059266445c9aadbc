# What predicts Sparse Expansion's gain, and what sparsity does to a neuron: WD-F7, WD-F8, WD-FA9, WD-FA4 panel b.
# Built from the disentangle_layer jobs (rules/disentangle.smk). WD-F7, F8 and FA4b also read the gated model's
# files (`gated_*` inputs, role `gated`), written as that model's rows and `by_model` claims; WD-FA9 reads the GELU model's.

DIS_F8_LAYERS = disentangle_layers(SCALE)  # WD-F8: the GELU model's layers
DIS_GATED_LAYERS = gated_layers(SCALE)  # WD-F8: the layers the gated model's job already runs

rule wd_fig7_analysis:
    """WD-F7: per-neuron RI against WD, output mean, output variance and GMM component count (OLS, R^2)."""
    input:
        neurons=GELU_DETAIL["neurons"],
        summary=GELU_DETAIL["summary"],
        **({"gated_neurons": GATED_DETAIL["neurons"],
            "gated_summary": GATED_DETAIL["summary"]} if GATED_MODEL else {}),
    output:
        **item_outputs("WD-F7"),
    params:
        scale=SCALE.name,
    log:
        log("items/WD-F7"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig7.py"

rule wd_fig8_analysis:
    """WD-F8 (b, c): per cluster of every DIS_F8_LAYERS layer: PCA components vs expert RMSE and improvement;
    the gated model's clusters (DIS_GATED_LAYERS) beside them."""
    input:
        clusters=[dis_files(GELU_MODEL.name, l)["clusters"] for l in DIS_F8_LAYERS],
        gated_clusters=[dis_files(GATED_MODEL.name, l)["clusters"] for l in DIS_GATED_LAYERS],
    output:
        **item_outputs("WD-F8"),
    params:
        layers=DIS_F8_LAYERS,
        gated_layers=DIS_GATED_LAYERS,
        bins=D["frontier_bins"],
        pca_variance=D["pca_variance"],
        scale=SCALE.name,
    log:
        log("items/WD-F8"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig8.py"

rule wd_fig_a9_analysis:
    """WD-FA9: the chosen neuron's standardized SparseGPT output over the sparsity sweep, and its WD to N(0,1)."""
    input:
        samples=GELU_DETAIL["samples"],
        summary=GELU_DETAIL["summary"],
        neurons=GELU_DETAIL["neurons"],
    output:
        **item_outputs("WD-FA9"),
    params:
        shown=[0, 0.5, 0.8, 0.9, 0.95],  # sweep sparsities drawn in panel (a), those present
        scale=SCALE.name,
    log:
        log("items/WD-FA9"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig_a9.py"

rule wd_fig_a4b_analysis:
    """WD-FA4 panel b: per-row sparsity SparseGPT gives the Wasserstein-neuron rows vs the layer, over the sweep."""
    input:
        neurons=GELU_DETAIL["neurons"],
        **({"gated_neurons": GATED_DETAIL["neurons"]} if GATED_MODEL else {}),
    output:
        **item_outputs("WD-FA4b", registered_as="WD-FA4"),
    params:
        headline=D["row_sparsity"],
        wn_percent=D["wn_percent"],
        scale=SCALE.name,
    log:
        log("items/WD-FA4b"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig_a4b.py"
