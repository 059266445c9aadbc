# Layer-wise z-scores of high output/input-ratio token pairs and token-pair tables (NC-F2, F3, F5, F6).
#
# NC Appendix A on the GELU model's up-projections: every layer's capture -> MD of every neuron over
# `zscores.pairs` seeded pairs (the `mapping_difficulty` rule; same seed and token count, so the same pairs
# in every layer) -> per layer (one job each, so a cluster spreads them) the top-MD neurons, their OI
# ratios over all pairs and their top pairs -> the cross-layer heatmap and the neuron-level items.

from entangle.zscores import ZScoreError, check_layers, check_matrix, check_neurons  # noqa: E402

Z = S.get("zscores", {})


def zscore_file(model, revision, layer, matrix="up", pairs=None):
    return f"{R}/zscores/{model}/{revision}/{CAPTURE_SPLIT}/L{layer}.{matrix}.pairs{pairs or Z['pairs']}.npz"


def mapping_file(model, revision, layer, matrix="up", pairs=None, kind="csv"):
    return f"{R}/mapping/{model}/{revision}/{CAPTURE_SPLIT}/L{layer}.{matrix}.pairs{pairs or Z['pairs']}.{kind}"


rule nc_layer_top_pairs:
    """One layer: its top-MD neurons, their OI ratios over all pairs, each one's highest-OI pairs (NC App. A)."""
    input:
        inputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.in.npy",
        outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
        md=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.csv",
        pairs_path=f"{R}/mapping/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.npz",
    output:
        top=f"{R}/zscores/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.pairs{{pairs}}.npz",
    wildcard_constraints:
        pairs=r"\d+",
    params:
        top_neurons=Z.get("top_neurons", 10),
        top_pairs=Z.get("top_pairs", 10),
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


if Z:
    _ZSPEC = SCALE.role("gelu")
    ZMODEL, ZREV, ZMATRIX, ZLAYER = _ZSPEC.name, _ZSPEC.revision, Z["matrix"], Z["layer"]
    try:
        check_matrix(_ZSPEC.family, ZMATRIX)
        check_layers(Z["exclude_layers"], _ZSPEC.n_layers, what="zscores.exclude_layers: layer")
        check_layers([ZLAYER], _ZSPEC.n_layers, what="zscores.layer =")
        if _ZSPEC.trained:  # hub models: checked against the captured width when the job runs
            _explicit = [Z["neuron"]] if isinstance(Z["neuron"], int) else []
            _explicit += Z["table_neurons"] if isinstance(Z["table_neurons"], list) else []
            check_neurons(_explicit, _ZSPEC.size["d_ff"], layer=ZLAYER)
    except ZScoreError as err:
        raise WorkflowError(f"config scales.{SCALE.name}.zscores, model {ZMODEL!r}: {err}") from None
    Z_LAYERS = [l for l in range(_ZSPEC.n_layers) if l not in Z["exclude_layers"]]
    if not Z_LAYERS:
        raise WorkflowError(f"config scales.{SCALE.name}.zscores.exclude_layers leaves no layer of {ZMODEL!r} "
                            f"(layers 0..{_ZSPEC.n_layers - 1})")
    Z_RECORD = {**model_record("gelu"), "matrix": ZMATRIX, "pairs": Z["pairs"]}
    Z_NEURONS = {k: Z[k] for k in ("neuron", "table_neurons", "table_pairs", "scatter_neurons", "top_pairs")}

    def _layer_inputs(layer, model=ZMODEL, rev=ZREV, matrix=ZMATRIX):
        return {"top": zscore_file(model, rev, layer, matrix),
                "md": mapping_file(model, rev, layer, matrix),
                "pairs_path": mapping_file(model, rev, layer, matrix, kind="npz"),
                "inputs": capture_file(model, rev, layer, matrix, end="in"),
                "outputs": capture_file(model, rev, layer, matrix),
                "tokens": f"{R}/tokens/{model}/{CAPTURE_SPLIT}.npy",
                "vocabulary": f"{R}/tokens/{model}/vocabulary.json"}

    # The gated-FFN model (role `gated`): the same on its gate projections (the matrix its SiLU acts on), with
    # the same layer exclusions; neurons chosen by rank only (explicit indices name the GELU model's neurons).
    _G = SCALE.gated()
    if _G:
        G_LAYERS = [l for l in range(_G.n_layers) if l not in Z["exclude_layers"]]
        G_RECORD = {**model_record("gated"), "matrix": "gate", "pairs": Z["pairs"]}
        G_NEURONS = {**Z_NEURONS, "neuron": "top" if isinstance(Z["neuron"], int) else Z["neuron"],
                     "table_neurons": len(Z["table_neurons"]) if isinstance(Z["table_neurons"], list)
                     else Z["table_neurons"]}

    def _gated_layer_inputs(keep=None):
        """The gated model's inputs of the single-layer items, prefixed `gated_` (none without a gated role)."""
        if not _G:
            return {}
        files = _layer_inputs(ZLAYER, _G.name, _G.revision, "gate")
        return {f"gated_{k}": v for k, v in files.items() if keep is None or k in keep}

    def _gated_params():
        return {"gated_record": G_RECORD, "gated_select": G_NEURONS} if _G else {}

    rule nc_fig2_analysis:
        """NC-F2: cross-layer z-scores of each layer's top-OI pairs (a) and their input-distance z-scores (b)."""
        input:
            tops=[zscore_file(ZMODEL, ZREV, l, ZMATRIX) for l in Z_LAYERS],
            pairs_paths=[mapping_file(ZMODEL, ZREV, l, ZMATRIX, kind="npz") for l in Z_LAYERS],
            tokens=f"{R}/tokens/{ZMODEL}/{CAPTURE_SPLIT}.npy",
            **({"gated_tops": [zscore_file(_G.name, _G.revision, l, "gate") for l in G_LAYERS],
                "gated_pairs_paths": [mapping_file(_G.name, _G.revision, l, "gate", kind="npz") for l in G_LAYERS],
                "gated_tokens": f"{R}/tokens/{_G.name}/{CAPTURE_SPLIT}.npy"} if _G else {}),
        output:
            **item_outputs("NC-F2"),
        params:
            **({"gated_layers": G_LAYERS, "gated_record": G_RECORD} if _G else {}),
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
            **_layer_inputs(ZLAYER),
            **_gated_layer_inputs(),
        output:
            **item_outputs("NC-F3"),
        params:
            **_gated_params(),
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
            **_layer_inputs(ZLAYER),
            **_gated_layer_inputs(),
        output:
            **item_outputs("NC-F5"),
            categories_csv=f"{R}/tables/NC-F5.categories.csv",
            categories_markdown=f"{R}/tables/NC-F5.categories.md",
        params:
            **_gated_params(),
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
            **{k: v for k, v in _layer_inputs(ZLAYER).items() if k not in ("tokens", "vocabulary")},
            **_gated_layer_inputs(("top", "md", "pairs_path", "inputs", "outputs")),
        output:
            **item_outputs("NC-F6"),
        params:
            **_gated_params(),
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
