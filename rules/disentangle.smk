# Disentanglement under sparsity (WD paper §3): one FFN matrix sparsified in isolation, neuron by neuron.
#
# disentangle_layer: one job per (model, layer, matrix) (`jobs.disentangle: per_layer`), or one job per model
# running its layers in turn (`per_model`, small scales: one start-up and model load); pruners fitted on the calibration windows' dense inputs
# (train split), measured on the capture split's held-out tokens. Files: results/<scale>/disentangle/<model>/
# L<layer>.<matrix>/{neurons.csv, clusters.csv, samples.npz, summary.json}. The analysis layer (wasserstein.layer)
# of the GELU model and of the gated model (role `gated`) runs in detail (K sweep, sparsity sweep, weighted WD/MD,
# GMM components); the gated model's on the same matrix (disentangle.matrix: its up_proj, as WD-F1), whose values
# the items write under `by_model`.
# Items: WD-F1 (SwiGLU model), WD-FA8 (GELU model), WD-F5 (with the partial runs), F6, F7, F8, FA9, FA4 panel b.

DIS_MATRIX = D["matrix"]
DIS_UNITS = disentangle_units(SCALE)  # model -> layers
DIS_SETTINGS = disentangle_settings(SCALE)
DIS_CONTEXT = {"dataset": DATASET, "split": CAPTURE_SPLIT,
               "calibration_split": SP["calibration"]["split"]}
# The captures each analysed matrix reads, requested here at parse time for every file dis_files() names
# (rules/activations.smk: with jobs.capture: per_model the dense pass writes only what is requested).
DIS_INPUTS = {(m, l): {end: capture_file(m, MODELS[m].revision, l, DIS_MATRIX, end=end)
                       for end in ("in", "out", "weight")} for m, layers in DIS_UNITS.items() for l in layers}

if S["jobs"]["disentangle"] == "per_layer":

    rule disentangle_layer:
        """One FFN matrix sparsified alone: SparseGPT vs Sparse Expansion per neuron on held-out tokens."""
        input:
            checkpoints=model_dir,
            calibration=f"{R}/sparsify/{{model}}/calibration.npy",  # sparsify_calibration or dense_pass_<model>
            # DIS_INPUTS' captures (requested above)
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
            layers=lambda w: [int(w.layer)],
            settings=DIS_SETTINGS,
            detail=lambda w: [disentangle_detail(SCALE, w.model, w.layer)],
            context=DIS_CONTEXT,
            device=DEVICE,
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

else:  # per_model: one job per model runs its layers in turn (one model load)

    # One rule per analysed model, named disentangle_<model> with - and . as _ (disentangle_neox_m).
    for _model, _layers in DIS_UNITS.items():
        _files = [dis_files(_model, l) for l in _layers]

        rule:
            name:
                f"disentangle_{_model}".replace("-", "_").replace(".", "_")
            input:
                checkpoints=f"{R}/models/{_model}",
                calibration=f"{R}/sparsify/{_model}/calibration.npy",  # sparsify_calibration or dense_pass_<model>
                inputs=[DIS_INPUTS[_model, l]["in"] for l in _layers],
                outputs=[DIS_INPUTS[_model, l]["out"] for l in _layers],
                weight=[DIS_INPUTS[_model, l]["weight"] for l in _layers],
            output:
                neurons=[f["neurons"] for f in _files],
                clusters=[f["clusters"] for f in _files],
                samples=[f["samples"] for f in _files],
                summary=[f["summary"] for f in _files],
            params:
                model=asdict(MODELS[_model]),
                layers=_layers,
                matrix=DIS_MATRIX,
                settings=DIS_SETTINGS,
                detail=[disentangle_detail(SCALE, _model, l) for l in _layers],
                context=DIS_CONTEXT,
                device=DEVICE,
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"disentangle/{_model}"),
            benchmark:
                bench(f"disentangle/{_model}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/disentangle_layer.py"

# WD-F1 on the SwiGLU model (paper: Llama-2-7B), WD-FA8 the same analysis on the GELU model (Pythia-1.4B).
rule wd_fig1_analysis:
    """WD-F1: a random and an entangled neuron of the SwiGLU model at 90% sparsity: dense vs SparseGPT vs Sparse
    Expansion output distributions, WD and RI."""
    input:
        neurons=dis_files(SWIGLU_MODEL.name, ANALYSIS_LAYER)["neurons"],
        samples=dis_files(SWIGLU_MODEL.name, ANALYSIS_LAYER)["samples"],
        summary=dis_files(SWIGLU_MODEL.name, ANALYSIS_LAYER)["summary"],
    output:
        **item_outputs("WD-F1"),
    params:
        item="WD-F1",
        scale=SCALE.name,
    log:
        log("items/WD-F1"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig1.py"

rule wd_fig_a8_analysis:
    """WD-FA8: WD-F1 on the GELU model."""
    input:
        neurons=GELU_DETAIL["neurons"],
        samples=GELU_DETAIL["samples"],
        summary=GELU_DETAIL["summary"],
    output:
        **item_outputs("WD-FA8"),
    params:
        item="WD-FA8",
        scale=SCALE.name,
    log:
        log("items/WD-FA8"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig1.py"

rule wd_fig6_analysis:
    """WD-F6: one high-WD neuron of the GELU (and the gated) model at K = 1..16 experts: distributions, WD to dense, RI."""
    input:
        neurons=GELU_DETAIL["neurons"],
        samples=GELU_DETAIL["samples"],
        summary=GELU_DETAIL["summary"],
        **({"gated_neurons": GATED_DETAIL["neurons"],
            "gated_samples": GATED_DETAIL["samples"],
            "gated_summary": GATED_DETAIL["summary"]} if GATED_MODEL else {}),
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


rule wd_fig5_analysis:
    """WD-F5: expanding the sparsified WD rows recovers perplexity (a); weighted WD and MD fall (b, c)."""
    input:
        partial=f"{R}/partial/{S['partial']['model']}/wd.json",  # partial_sparsify (rules/partial.smk)
        neurons=GELU_DETAIL["neurons"],
        summary=GELU_DETAIL["summary"],
        **({"gated_neurons": GATED_DETAIL["neurons"],
            "gated_summary": GATED_DETAIL["summary"]} if GATED_MODEL else {}),
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
