# Negative computation: distributions and the clamp ablation (NC-F4).
# clamp_ablation: one model load evaluates the unclamped model and, per percent p, the top-p% WD neurons of
# every up-projection clamped at 0 and `random_seeds` random controls. One job for all percents
# (`clamp.p1_2_5_10`, smoke/mini: start-up dominates) or one per percent (`jobs.negative: per_percent`, paper: GPU).
# nc_fig4_analysis: panels a-d from the captured pre-activations of each role's top-WD neuron of
# `negative.layer`, panel e and the p sweep from the clamp jobs; table, figure and claim values. With a
# `gated` role, its gate projection beside them (panels g-i, rows of the table, claims by_model); the clamp
# acts on each model's activation matrix (gate before SiLU for a gated FFN, else up).

NEG_PERCENTS = sorted({float(p) for p in NEG["percents"]} | {float(NEG["percent"])})

NEG_JOBS = [[p] for p in NEG_PERCENTS] if S["jobs"]["negative"] == "per_percent" else [NEG_PERCENTS]

rule clamp_ablation:
    """NC-F4e: per-window NLL unclamped and, per percent, top-p% WD clamped and random-neuron clamps per seed."""
    input:
        checkpoints=model_dir,
        windows=f"{R}/tokens/{{model}}/{{split}}.npy",  # token_windows or dense_pass_<model>
        baseline=f"{R}/perplexity/{{model}}/{{revision}}/{{split}}.csv",  # perplexity or dense_pass_<model>
        stats=lambda wc: clamp_stats(wc.model, wc.revision),  # requested at parse time below
    output:
        nll=f"{R}/negative/{{model}}/{{revision}}/{{split}}/clamp.p{{percents}}.csv",
        summary=f"{R}/negative/{{model}}/{{revision}}/{{split}}/clamp.p{{percents}}.json",
    wildcard_constraints:
        percents=r"\d+(\.\d+)?(_\d+(\.\d+)?)*",
    params:
        model=model_spec,
        capture_split=CAPTURE_SPLIT,
        random_seeds=NEG["random_seeds"],
        seed=S["seed"],
        max_windows=S["evaluation"]["max_windows"],
        batch_size=NEG["batch_size"],
        device=DEVICE,
    threads: S["threads"]
    resources:
        gpu=GPU,
    log:
        log("clamp_ablation/{model}.{revision}.{split}.p{percents}"),
    benchmark:
        bench("clamp_ablation/{model}.{revision}.{split}.p{percents}")
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/clamp_ablation.py"

_NC_LAYER = NEG["layer"]
_NC_EVAL = S["evaluation"]["split"]
_NC_HEADLINE = float(NEG["percent"])  # the gated model's clamp: headline percent only (a 135M model at real:
# 1 + random_seeds forward passes of the evaluation windows instead of 1 + 4 x (1 + random_seeds))

# The statistics clamp_ablation reads (above, through wildcards) for each model NC-F4 clamps, requested here at
# parse time (rules/activations.smk: with jobs.capture: per_model the dense pass writes only what is requested).
for _spec in (GELU_MODEL, GATED_MODEL):
    if _spec:
        clamp_stats(_spec.name, _spec.revision)

_NC_RECORDS = {role: {**model_record(role), "family": spec.family, "n_layers": spec.n_layers}
               for role, spec in (("relu", RELU_MODEL), ("gelu", GELU_MODEL), ("gated", GATED_MODEL)) if spec}

rule nc_fig4_analysis:
    """NC-F4: ReLU vs GELU Wasserstein neuron pre/post-activation histograms (a-d); clamp ablation (e) and sweep."""
    input:
        relu_stats=stats_file(RELU_MODEL.name, RELU_MODEL.revision, _NC_LAYER),
        relu_outputs=capture_file(RELU_MODEL.name, RELU_MODEL.revision, _NC_LAYER),
        gelu_stats=stats_file(GELU_MODEL.name, GELU_MODEL.revision, _NC_LAYER),
        gelu_outputs=capture_file(GELU_MODEL.name, GELU_MODEL.revision, _NC_LAYER),
        clamp=[clamp_file(GELU_MODEL.name, GELU_MODEL.revision, _NC_EVAL, p) for p in NEG_JOBS],
        summaries=[clamp_file(GELU_MODEL.name, GELU_MODEL.revision, _NC_EVAL, p, "json") for p in NEG_JOBS],
        **({"gated_stats": stats_file(GATED_MODEL.name, GATED_MODEL.revision, _NC_LAYER, "gate"),
            "gated_outputs": capture_file(GATED_MODEL.name, GATED_MODEL.revision, _NC_LAYER, "gate"),
            "gated_clamp": [clamp_file(GATED_MODEL.name, GATED_MODEL.revision, _NC_EVAL, [_NC_HEADLINE])],
            "gated_summaries": [clamp_file(GATED_MODEL.name, GATED_MODEL.revision, _NC_EVAL, [_NC_HEADLINE], "json")]}
           if GATED_MODEL else {}),
    output:
        **item_outputs("NC-F4"),
    params:
        relu=_NC_RECORDS["relu"],
        gelu=_NC_RECORDS["gelu"],
        gated=_NC_RECORDS.get("gated"),
        layer=_NC_LAYER,
        percent=float(NEG["percent"]),
        top=NEG["top"],
        scale=SCALE.name,
    log:
        log("items/NC-F4"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/nc_fig4.py"
