# Neuron embeddings, feature clusters and SAEs with the neuron-embedding loss (NE paper).
#
# Feature clusters (NE-T1, NE-F2, NE-F3, NE-F4) on the GPT-2 role model:
#   ne_example_windows -> ne_clusters (one job per layer) -> ne_cluster_table, ne_cluster_figures
# SAEs on digits / MNIST (NE-T2, NE-T3, NE-F5):
#   ne_sae_data -> ne_sae_seed (one job per seed) -> ne_sae_tables, ne_sae_figure

NE_DIR = f"{R}/neuron_embeddings"
SAE_DIR = f"{R}/sae"
NE_N_LAYERS = GPT2_MODEL.n_layers
NE_LAYERS = neuron_embedding_layers(SCALE)  # checked by check_scale (rules/common.smk)
# the example windows come from a split's token windows (token_windows or dense_pass_<model>), or (paper) from
# OpenWebText documents
NE_SPLIT_WINDOWS = f"{R}/tokens/{GPT2_MODEL.name}/{NE['text']['split']}.npy" if NE["text"]["source"] == "split" else []


rule ne_example_windows:
    """Example windows for feature clusters: the scale's split windows, or OpenWebText documents (paper)."""
    input:
        split_windows=NE_SPLIT_WINDOWS,
        checkpoints=f"{R}/models/{GPT2_MODEL.name}",
    output:
        windows=f"{NE_DIR}/windows.npy",
        info=f"{NE_DIR}/windows.json",
    params:
        model=asdict(GPT2_MODEL),
        text=NE["text"],
        dataset=DATASET,  # the scale's text, which the split windows are cut from
        examples=NE["examples"],
        reference_examples=NE["reference_examples"],
        example_tokens=NE["example_tokens"],
    log:
        log("neuron_embeddings/windows"),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/ne_example_windows.py"


rule ne_clusters:
    """Examples, neuron embeddings and HAC feature clusters of every neuron of one layer."""
    input:
        checkpoints=f"{R}/models/{GPT2_MODEL.name}",
        windows=rules.ne_example_windows.output.windows,
    output:
        table=f"{NE_DIR}/L{{layer}}.csv",
        details=f"{NE_DIR}/L{{layer}}.json",
    params:
        model=asdict(GPT2_MODEL),
        settings=NE,
        device=DEVICE,
    threads: S["threads"]
    resources:
        gpu=GPU,
    log:
        log("neuron_embeddings/L{layer}"),
    benchmark:
        bench("neuron_embeddings/L{layer}")
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/ne_clusters.py"


rule ne_cluster_table:
    """NE-T1: intra- and inter-cluster distance, neuron vs pre-MLP embeddings, over all analysed neurons."""
    input:
        tables=expand(f"{NE_DIR}/L{{layer}}.csv", layer=NE_LAYERS),  # ne_clusters
        info=rules.ne_example_windows.output.info,
    output:
        table=f"{R}/tables/NE-T1.csv",
        markdown=f"{R}/tables/NE-T1.md",
        claims=f"{R}/claims/NE-T1.json",
    params:
        settings=NE,
        scale=SCALE.name,
        seed=S["seed"],
    log:
        log("neuron_embeddings/table1"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/ne_cluster_table.py"


rule ne_cluster_figures:
    """NE-F2 (most clusters, middle layer), NE-F3 (rarest secondary behaviour), NE-F4 (2-D projections)."""
    input:
        tables=expand(f"{NE_DIR}/L{{layer}}.csv", layer=NE_LAYERS),  # ne_clusters
        details=expand(f"{NE_DIR}/L{{layer}}.json", layer=NE_LAYERS),
        info=rules.ne_example_windows.output.info,
    output:
        f2_png=f"{R}/figures/NE-F2.png",
        f2_pdf=f"{R}/figures/NE-F2.pdf",
        f3_png=f"{R}/figures/NE-F3.png",
        f3_pdf=f"{R}/figures/NE-F3.pdf",
        f4_png=f"{R}/figures/NE-F4.png",
        f4_pdf=f"{R}/figures/NE-F4.pdf",
        f2_claims=f"{R}/claims/NE-F2.json",
        f3_claims=f"{R}/claims/NE-F3.json",
        f4_claims=f"{R}/claims/NE-F4.json",
    params:
        settings=NE,
        scale=SCALE.name,
        n_layers=NE_N_LAYERS,
    log:
        log("neuron_embeddings/figures"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/ne_cluster_figures.py"


rule ne_sae_data:
    """The digits data set for the SAE experiment: sklearn digits (stratified split) or MNIST (datasets)."""
    output:
        data=f"{SAE_DIR}/data.npz",
    params:
        dataset=SAE["dataset"],
        local_path=SAE["local_path"],
        seed=S["seed"],
    log:
        log("sae/data"),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/ne_sae_data.py"


rule ne_sae_seed:
    """One seed: the MLP classifier, a standard SAE and an NE-loss SAE; NE-T2/T3 metrics and NE-F5 arrays."""
    input:
        data=rules.ne_sae_data.output.data,
    output:
        metrics=f"{SAE_DIR}/seed{{seed}}.json",
        arrays=f"{SAE_DIR}/seed{{seed}}.npz",
        models=f"{SAE_DIR}/seed{{seed}}.pt",
    wildcard_constraints:
        seed=r"\d+",
    params:
        dataset=SAE["dataset"],
        mlp=SAE["mlp"],
        sae=SAE["sae"],
        max_examples=NE["max_examples"],
        hac_threshold=NE["hac_threshold"],
        linkage=NE["linkage"],
    threads: 1  # deterministic torch on CPU
    log:
        log("sae/seed{seed}"),
    benchmark:
        bench("sae/seed{seed}")
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/ne_sae_seed.py"


rule ne_sae_tables:
    """NE-T2 (MSE, L1, L0, accuracy loss) and NE-T3 (embedding distances, size, dead %): mean ± SEM over seeds."""
    input:
        metrics=expand(f"{SAE_DIR}/seed{{seed}}.json", seed=SAE["seeds"]),  # ne_sae_seed
    output:
        t2=f"{R}/tables/NE-T2.csv",
        t2_md=f"{R}/tables/NE-T2.md",
        t3=f"{R}/tables/NE-T3.csv",
        t3_md=f"{R}/tables/NE-T3.md",
        t2_claims=f"{R}/claims/NE-T2.json",
        t3_claims=f"{R}/claims/NE-T3.json",
    params:
        scale=SCALE.name,
    log:
        log("sae/tables"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/ne_sae_tables.py"


rule ne_sae_figure:
    """NE-F5: one NE-loss SAE neuron (first seed): activation map, importance map, logit effects, examples."""
    input:
        metrics=f"{SAE_DIR}/seed{SAE['seeds'][0]}.json",  # ne_sae_seed
        arrays=f"{SAE_DIR}/seed{SAE['seeds'][0]}.npz",
    output:
        png=f"{R}/figures/NE-F5.png",
        pdf=f"{R}/figures/NE-F5.pdf",
        claims=f"{R}/claims/NE-F5.json",
    params:
        scale=SCALE.name,
    log:
        log("sae/figure"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/ne_sae_figure.py"
