# Disentanglement under sparsity (WD paper §3): one FFN matrix sparsified in isolation, neuron by neuron.
#
# disentangle_layer: one job per (model, layer, matrix); pruners fitted on the calibration windows' dense inputs
# (train split), measured on the capture split's held-out tokens. Files: results/<scale>/disentangle/<model>/
# L<layer>.<matrix>/{neurons.csv, clusters.csv, samples.npz, summary.json}. The GELU model's analysis layer
# (wasserstein.layer) runs in detail (K sweep, sparsity sweep, weighted WD/MD, GMM components).
# Items: WD-F1 (SwiGLU model), WD-FA8 (GELU model), WD-F5 (with the partial runs), F6, F7, F8, FA9, FA4 panel b.

D = S.get("disentangle")

if D:
    if not SP:
        raise WorkflowError(f"config scales.{SCALE.name}.disentangle needs a `sparsify` block (its calibration "
                            "windows and Sparse Expansion router settings); add one or remove `disentangle`")
    if D["row_sparsity"] not in D["sweep"]:
        raise WorkflowError(f"config scales.{SCALE.name}.disentangle.row_sparsity = {D['row_sparsity']} must be one "
                            f"of disentangle.sweep {D['sweep']}")
    DIS_MATRIX = D["matrix"]
    DIS_LAYER = W["layer"]
    DIS_GELU, DIS_SWIGLU = SCALE.role("gelu").name, SCALE.role("swiglu").name
    DIS_F8_LAYERS = list(range(MODELS[DIS_GELU].n_layers)) if D["layers"] == "all" else D["layers"]
    for _m in (DIS_GELU, DIS_SWIGLU):
        _bad = [l for l in {DIS_LAYER, *(DIS_F8_LAYERS if _m == DIS_GELU else [])} if l >= MODELS[_m].n_layers]
        if _bad:
            raise WorkflowError(f"config scales.{SCALE.name}: layer(s) {_bad} (wasserstein.layer / disentangle.layers) "
                                f"do not exist in model {_m!r} ({MODELS[_m].n_layers} layers)")
    DIS_CONTEXT = {"dataset": DATASET, "split": CAPTURE_SPLIT,
                   "calibration_split": SP["calibration"]["split"]}

    def dis_files(model, layer):
        base = f"{R}/disentangle/{model}/L{layer}.{DIS_MATRIX}"
        return {name: f"{base}/{name}.{ext}" for name, ext in
                (("neurons", "csv"), ("clusters", "csv"), ("samples", "npz"), ("summary", "json"))}

    def _dis_settings(model, layer):
        detail = model == DIS_GELU and int(layer) == DIS_LAYER
        return {"sparsity": D["sparsity"], "num_clusters": D["num_clusters"], "ks": D["ks"], "neuron": D["neuron"],
                "wn_percent": D["wn_percent"], "sweep": D["sweep"], "md_pairs": D["md_pairs"],
                "gmm_max_components": D["gmm"]["max_components"], "gmm_tokens": D["gmm"]["tokens"],
                "pca_variance": D["pca_variance"], "pca_factor": SP["expansion"]["pca_factor"],
                "n_init": SP["expansion"]["n_init"], "wd_method": W.get("method", "fast"), "seed": S["seed"],
                "ties": S["prune_ties"]}

    rule disentangle_layer:
        """One FFN matrix sparsified alone: SparseGPT vs Sparse Expansion per neuron on held-out tokens."""
        input:
            checkpoints=model_dir,
            calibration=f"{R}/sparsify/{{model}}/calibration.npy",
            inputs=lambda w: capture_file(w.model, MODELS[w.model].revision, w.layer, w.matrix, end="in"),
            outputs=lambda w: capture_file(w.model, MODELS[w.model].revision, w.layer, w.matrix),
            weight=lambda w: capture_file(w.model, MODELS[w.model].revision, w.layer, w.matrix, end="weight"),
        output:
            neurons=f"{R}/disentangle/{{model}}/L{{layer}}.{{matrix}}/neurons.csv",
            clusters=f"{R}/disentangle/{{model}}/L{{layer}}.{{matrix}}/clusters.csv",
            samples=f"{R}/disentangle/{{model}}/L{{layer}}.{{matrix}}/samples.npz",
            summary=f"{R}/disentangle/{{model}}/L{{layer}}.{{matrix}}/summary.json",
        params:
            model=model_spec,
            settings=lambda w: _dis_settings(w.model, w.layer),
            detail=lambda w: w.model == DIS_GELU and int(w.layer) == DIS_LAYER,
            context=DIS_CONTEXT,
            device="cuda" if GPU else "cpu",
        threads: S["threads"]
        resources:
            gpu=GPU,
        log:
            log("disentangle/{model}.L{layer}.{matrix}"),
        benchmark:
            bench("disentangle/{model}.L{layer}.{matrix}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/disentangle_layer.py"

    # WD-F1 on the SwiGLU model (paper: Llama-2-7B), WD-FA8 the same analysis on the GELU model (Pythia-1.4B).
    for _item, _role, _name in (("WD-F1", "swiglu", "wd_fig1_analysis"), ("WD-FA8", "gelu", "wd_fig_a8_analysis")):
        _files = dis_files(SCALE.role(_role).name, DIS_LAYER)

        rule:
            name:
                _name
            input:
                neurons=_files["neurons"],
                samples=_files["samples"],
                summary=_files["summary"],
            output:
                **item_outputs(_item),
            params:
                item=_item,
                scale=SCALE.name,
            log:
                log(f"items/{_item}"),
            conda:
                "../envs/analysis.yaml"
            script:
                "../scripts/wd_fig1.py"

    rule wd_fig6_analysis:
        """WD-F6: one high-WD neuron of the GELU model at K = 1..16 experts: distributions, WD to dense, RI."""
        input:
            **{k: v for k, v in dis_files(DIS_GELU, DIS_LAYER).items() if k != "clusters"},
        output:
            **item_outputs("WD-F6"),
        params:
            scale=SCALE.name,
        log:
            log("items/WD-F6"),
        conda:
            "../envs/analysis.yaml"
        script:
            "../scripts/wd_fig6.py"

    if S.get("partial"):

        rule wd_fig5_analysis:
            """WD-F5: expanding the sparsified WD rows recovers perplexity (a); weighted WD and MD fall (b, c)."""
            input:
                partial=f"{R}/partial/{S['partial']['model']}/wd.json",
                neurons=dis_files(DIS_GELU, DIS_LAYER)["neurons"],
                summary=dis_files(DIS_GELU, DIS_LAYER)["summary"],
            output:
                **item_outputs("WD-F5"),
            params:
                headline=S["partial"]["headline"],
                scale=SCALE.name,
            log:
                log("items/WD-F5"),
            conda:
                "../envs/analysis.yaml"
            script:
                "../scripts/wd_fig5.py"
