# Layer-wise z-scores of high output/input-ratio token pairs and token-pair tables (NC-F2, F3, F5, F6).
#
# NC Appendix A on the GELU model's up-projections: every layer's capture -> MD of every neuron over
# `zscores.pairs` seeded pairs (the `mapping_difficulty` rule; same seed and token count, so the same pairs
# in every layer) -> per layer (one job each, so a cluster spreads them) the top-MD neurons, their OI
# ratios over all pairs and their top pairs -> the cross-layer heatmap and the neuron-level items.


rule nc_layer_top_pairs:
    """One layer: its top-MD neurons, their OI ratios over all pairs, each one's highest-OI pairs (NC App. A)."""
    input:
        # the captures of mapping_captures(), requested at parse time beside the rules asking for this output
        inputs=lambda w: capture_file(w.model, w.revision, w.layer, w.matrix, "in", w.split),
        outputs=lambda w: capture_file(w.model, w.revision, w.layer, w.matrix, "out", w.split),
        # mapping_difficulty (rules/wasserstein.smk)
        md=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.csv",
        pairs_path=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.npz",
    output:
        top=f"{R}/zscores/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.npz",
    wildcard_constraints:
        pairs=r"\d+",
    params:
        top_neurons=Z["top_neurons"],
        top_pairs=Z["top_pairs"],
    threads: 1
    log:
        log("zscores/{model}.{revision}.{split}.L{layer}.{matrix}.pairs{pairs}"),
    benchmark:
        bench("zscores/{model}.{revision}.{split}.L{layer}.{matrix}.pairs{pairs}")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_layer_top_pairs.py"


rule nc_vocabulary:
    """The model's vocabulary as raw token strings by id (JSON list), to decode token-pair tables."""
    input:
        checkpoints=model_dir,
    output:
        vocabulary=f"{R}/tokens/{{model}}/vocabulary.json",
    params:
        model=model_spec,
    log:
        log("nc_vocabulary/{model}"),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/nc_vocabulary.py"


ZMATRIX, ZLAYER = Z["matrix"], Z["layer"]
Z_LAYERS = zscore_layers(SCALE)  # settings checked by check_scale (rules/common.smk)
Z_RECORD = {**model_record("gelu"), "matrix": ZMATRIX, "pairs": Z["pairs"]}
Z_NEURONS = {k: Z[k] for k in ("neuron", "table_neurons", "table_pairs", "scatter_neurons", "top_pairs")}

# What NC-F3, F5 and F6 read of layer `zscores.layer`; NC-F3 and F5 also decode token ids (Z_DECODE_INPUTS).
Z_LAYER_INPUTS = {"top": zscore_file(GELU_MODEL.name, GELU_MODEL.revision, ZLAYER, ZMATRIX),
                  "md": mapping_file(GELU_MODEL.name, GELU_MODEL.revision, ZLAYER, ZMATRIX),
                  "pairs_path": mapping_file(GELU_MODEL.name, GELU_MODEL.revision, ZLAYER, ZMATRIX, kind="npz"),
                  "inputs": capture_file(GELU_MODEL.name, GELU_MODEL.revision, ZLAYER, ZMATRIX, end="in"),
                  "outputs": capture_file(GELU_MODEL.name, GELU_MODEL.revision, ZLAYER, ZMATRIX)}
Z_DECODE_INPUTS = {"tokens": f"{R}/tokens/{GELU_MODEL.name}/{CAPTURE_SPLIT}.npy",
                   "vocabulary": f"{R}/tokens/{GELU_MODEL.name}/vocabulary.json"}

# The gated-FFN model (role `gated`): the same on its gate projections (the matrix its SiLU acts on), with
# the same layer exclusions; neurons chosen by rank only (explicit indices name the GELU model's neurons).
G_LAYER_INPUTS, G_DECODE_INPUTS, G_PARAMS = {}, {}, {}  # NC-F3, F5, F6 inputs prefixed gated_, params (none without)
if GATED_MODEL:
    G_LAYERS = [l for l in range(GATED_MODEL.n_layers) if l not in Z["exclude_layers"]]
    G_RECORD = {**model_record("gated"), "matrix": "gate", "pairs": Z["pairs"]}
    G_PARAMS = {"gated_record": G_RECORD, "gated_select": {
        **Z_NEURONS, "neuron": "top" if isinstance(Z["neuron"], int) else Z["neuron"],
        "table_neurons": len(Z["table_neurons"]) if isinstance(Z["table_neurons"], list) else Z["table_neurons"]}}
    G_LAYER_INPUTS = {"gated_top": zscore_file(GATED_MODEL.name, GATED_MODEL.revision, ZLAYER, "gate"),
                      "gated_md": mapping_file(GATED_MODEL.name, GATED_MODEL.revision, ZLAYER, "gate"),
                      "gated_pairs_path": mapping_file(GATED_MODEL.name, GATED_MODEL.revision, ZLAYER, "gate",
                                                       kind="npz"),
                      "gated_inputs": capture_file(GATED_MODEL.name, GATED_MODEL.revision, ZLAYER, "gate", end="in"),
                      "gated_outputs": capture_file(GATED_MODEL.name, GATED_MODEL.revision, ZLAYER, "gate")}
    G_DECODE_INPUTS = {"gated_tokens": f"{R}/tokens/{GATED_MODEL.name}/{CAPTURE_SPLIT}.npy",
                       "gated_vocabulary": f"{R}/tokens/{GATED_MODEL.name}/vocabulary.json"}

# The captures mapping_difficulty and nc_layer_top_pairs read (through wildcards) for every layer whose files
# NC-F2 asks for below, requested here at parse time (rules/activations.smk: with jobs.capture: per_model the
# dense pass writes only what is requested). NC-F3, F5 and F6 read their layer's captures themselves.
for _l in Z_LAYERS:
    mapping_captures(GELU_MODEL.name, GELU_MODEL.revision, _l, ZMATRIX)
for _l in G_LAYERS if GATED_MODEL else []:
    mapping_captures(GATED_MODEL.name, GATED_MODEL.revision, _l, "gate")

rule nc_fig2_analysis:
    """NC-F2: cross-layer z-scores of each layer's top-OI pairs (a) and their input-distance z-scores (b)."""
    input:
        tops=[zscore_file(GELU_MODEL.name, GELU_MODEL.revision, l, ZMATRIX) for l in Z_LAYERS],
        pairs_paths=[mapping_file(GELU_MODEL.name, GELU_MODEL.revision, l, ZMATRIX, kind="npz") for l in Z_LAYERS],
        tokens=f"{R}/tokens/{GELU_MODEL.name}/{CAPTURE_SPLIT}.npy",
        **({"gated_tops": [zscore_file(GATED_MODEL.name, GATED_MODEL.revision, l, "gate") for l in G_LAYERS],
            "gated_pairs_paths": [mapping_file(GATED_MODEL.name, GATED_MODEL.revision, l, "gate", kind="npz")
                                  for l in G_LAYERS],
            "gated_tokens": f"{R}/tokens/{GATED_MODEL.name}/{CAPTURE_SPLIT}.npy"} if GATED_MODEL else {}),
    output:
        **item_outputs("NC-F2"),
    params:
        **({"gated_layers": G_LAYERS, "gated_record": G_RECORD} if GATED_MODEL else {}),
        layers=Z_LAYERS,
        excluded=Z["exclude_layers"],
        special=ZLAYER,
        normalize=Z["normalize"],
        record=Z_RECORD,
        scale=SCALE.name,
    log:
        log("items/NC-F2"),
    benchmark:
        bench("items/NC-F2")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig2.py"

rule nc_fig3_analysis:
    """NC-F3: one entangled neuron: top OI pairs (T1, T2, NT1, NT2), their pre-activations, IO scatter."""
    input:
        **Z_LAYER_INPUTS,
        **Z_DECODE_INPUTS,
        **G_LAYER_INPUTS,
        **G_DECODE_INPUTS,
    output:
        **item_outputs("NC-F3"),
    params:
        **G_PARAMS,
        layer=ZLAYER,
        select=Z_NEURONS,
        record=Z_RECORD,
        scale=SCALE.name,
    log:
        log("items/NC-F3"),
    benchmark:
        bench("items/NC-F3")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig3.py"

rule nc_fig5_analysis:
    """NC-F5: top OI pairs of further entangled neurons of the layer, with a token-category breakdown."""
    input:
        **Z_LAYER_INPUTS,
        **Z_DECODE_INPUTS,
        **G_LAYER_INPUTS,
        **G_DECODE_INPUTS,
    output:
        **item_outputs("NC-F5"),
        categories_csv=f"{R}/tables/NC-F5.categories.csv",
        categories_markdown=f"{R}/tables/NC-F5.categories.md",
    params:
        **G_PARAMS,
        layer=ZLAYER,
        select=Z_NEURONS,
        record=Z_RECORD,
        scale=SCALE.name,
    log:
        log("items/NC-F5"),
    benchmark:
        bench("items/NC-F5")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig5.py"

rule nc_fig6_analysis:
    """NC-F6: IO scatters of the layer's other entangled neurons, top OI pairs highlighted."""
    input:
        **Z_LAYER_INPUTS,
        **G_LAYER_INPUTS,
    output:
        **item_outputs("NC-F6"),
    params:
        **G_PARAMS,
        layer=ZLAYER,
        select=Z_NEURONS,
        record=Z_RECORD,
        scale=SCALE.name,
    log:
        log("items/NC-F6"),
    benchmark:
        bench("items/NC-F6")
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig6.py"
