# Wasserstein neurons: mapping difficulty, and the items built from the per-neuron statistics (WD, moments,
# weights; rules/activations.smk): WD-F2, WD-FA1, WD-FA2, WD-FA4 panel a, NC-F1, NC-F7, NC-F8.


rule mapping_difficulty:
    """MD per neuron over `pairs` seeded token pairs (WD paper §2, mapping difficulty), and the pairs with their input distances."""
    input:
        # capture or dense_pass_<model> (rules/activations.smk)
        inputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.in.npy",
        outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
    output:
        md=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.csv",
        pairs_path=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.npz",
    wildcard_constraints:
        pairs=r"\d+",
    params:
        seed=S["seed"],
    threads: S["threads"]
    log:
        log("mapping_difficulty/{model}.{revision}.{split}.L{layer}.{matrix}.pairs{pairs}"),
    benchmark:
        bench("mapping_difficulty/{model}.{revision}.{split}.L{layer}.{matrix}.pairs{pairs}")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/mapping_difficulty.py"


rule wd_fig2_analysis:
    """WD-F2: output distribution and IO relationship of a random and a Wasserstein neuron; WD vs MD."""
    input:
        stats=stats_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER),
        mapping=mapping_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER, pairs=W["md_pairs"]),
        pairs=mapping_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER, pairs=W["md_pairs"], kind="npz"),
        inputs=capture_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER, end="in"),
        outputs=capture_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER),
        **({"gated_stats": stats_file(GATED_MODEL.name, GATED_MODEL.revision, ANALYSIS_LAYER, "gate"),
            "gated_mapping": mapping_file(GATED_MODEL.name, GATED_MODEL.revision, ANALYSIS_LAYER, "gate",
                                          pairs=W["md_pairs"]),
            "gated_pairs": mapping_file(GATED_MODEL.name, GATED_MODEL.revision, ANALYSIS_LAYER, "gate",
                                        pairs=W["md_pairs"], kind="npz"),
            "gated_inputs": capture_file(GATED_MODEL.name, GATED_MODEL.revision, ANALYSIS_LAYER, "gate", end="in"),
            "gated_outputs": capture_file(GATED_MODEL.name, GATED_MODEL.revision, ANALYSIS_LAYER, "gate")}
           if GATED_MODEL else {}),
    output:
        **item_outputs("WD-F2"),
    params:
        record=model_record("gelu"),
        gated_record=model_record("gated") if GATED_MODEL else None,
        layer=ANALYSIS_LAYER,
        scale=SCALE.name,
    log:
        log("items/WD-F2"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig2.py"

LAYER_MODELS = list(dict.fromkeys([SCALE.role(r).name for r in W["layer_roles"]]
                                  + ([GATED_MODEL.name] if GATED_MODEL else [])))

rule wd_fig_a1_analysis:
    """WD-FA1: WD distribution of every FFN linear (claim 1: up, gate, down), each layer's top-WD vs median
    up-projection neuron."""
    input:
        stats=[stats_file(m, MODELS[m].revision, l, x) for m in LAYER_MODELS for l in range(MODELS[m].n_layers)
               for x in MODELS[m].matrices],
        outputs=[capture_file(m, MODELS[m].revision, l) for m in LAYER_MODELS for l in range(MODELS[m].n_layers)],
    output:
        **item_outputs("WD-FA1"),
    params:
        models=[{"name": m, "layers": MODELS[m].n_layers, "family": MODELS[m].family,
                 "matrices": list(MODELS[m].matrices)} for m in LAYER_MODELS],
        method=W["method"],
        seed=S["seed"],
        scale=SCALE.name,
    log:
        log("items/WD-FA1"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig_a1.py"

rule nc_f7_analysis:
    """NC-F7: the GELU model's top-k Wasserstein neurons of the analysis layer; how many have multimodal
    negative halves."""
    input:
        stats=stats_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER),
        outputs=capture_file(GELU_MODEL.name, GELU_MODEL.revision, ANALYSIS_LAYER),
    output:
        **item_outputs("NC-F7"),
    params:
        item="NC-F7",
        record=model_record("gelu"),
        layer=ANALYSIS_LAYER,
        top=W["gallery"],
        scale=SCALE.name,
    log:
        log("items/NC-F7"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_gallery.py"

rule nc_f8_analysis:
    """NC-F8: the same for the ReLU model."""
    input:
        stats=stats_file(RELU_MODEL.name, RELU_MODEL.revision, ANALYSIS_LAYER),
        outputs=capture_file(RELU_MODEL.name, RELU_MODEL.revision, ANALYSIS_LAYER),
    output:
        **item_outputs("NC-F8"),
    params:
        item="NC-F8",
        record=model_record("relu"),
        layer=ANALYSIS_LAYER,
        top=W["gallery"],
        scale=SCALE.name,
    log:
        log("items/NC-F8"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_gallery.py"

rule wd_fig_a4a_analysis:
    """WD-FA4 panel a: overlap of top-WD and top mean-|w| neurons, every layer of the GELU model."""
    input:
        stats=[stats_file(GELU_MODEL.name, GELU_MODEL.revision, l) for l in range(GELU_MODEL.n_layers)],
        **({"gated_stats": [stats_file(GATED_MODEL.name, GATED_MODEL.revision, l, "gate")
                            for l in range(GATED_MODEL.n_layers)]} if GATED_MODEL else {}),
    output:
        **item_outputs("WD-FA4a", registered_as="WD-FA4"),
    params:
        record=model_record("gelu"),
        gated_record=model_record("gated") if GATED_MODEL else None,
        layer=ANALYSIS_LAYER,
        percent=W["overlap_percent"],
        scale=SCALE.name,
    log:
        log("items/WD-FA4a"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig_a4a.py"

rule wd_fig_a2_analysis:
    """WD-FA2: row-update norms and WD of the final top-WD neurons across training checkpoints."""
    input:
        stats=[stats_file(GELU_MODEL.name, r, ANALYSIS_LAYER) for r in SCALE.dynamics_revisions()],
        weights=[capture_file(GELU_MODEL.name, r, ANALYSIS_LAYER, end="weight") for r in SCALE.dynamics_revisions()],
    output:
        **item_outputs("WD-FA2"),
    params:
        revisions=SCALE.dynamics_revisions(),
        record=model_record("gelu"),
        layer=ANALYSIS_LAYER,
        dynamics=W["dynamics"],
        tokens_per_step=S["training"]["batch_size"] * S["context"] if TRAINED else 2097152,
        scale=SCALE.name,
    log:
        log("items/WD-FA2"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig_a2.py"

rule nc_fig1_analysis:
    """NC-F1: WD distributions across model sizes (and checkpoints); top-10 WN weight changes per interval."""
    input:
        stats=[stats_file(m, r, ANALYSIS_LAYER) for m in SIZE_MODELS for r in SCALE.interval_revisions(m)],
        weights=[capture_file(m, r, ANALYSIS_LAYER, end="weight")
                 for m in SIZE_MODELS for r in SCALE.interval_revisions(m)],
    output:
        **item_outputs("NC-F1"),
    params:
        models=[{"name": m, "revisions": SCALE.interval_revisions(m),
                 "parameters": MODELS[m].size or MODELS[m].hub_id} for m in SIZE_MODELS],
        layer=ANALYSIS_LAYER,
        top=W["dynamics"]["top"],
        scale=SCALE.name,
    log:
        log("items/NC-F1"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig1.py"
