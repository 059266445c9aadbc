# Token windows, captured activations and per-neuron statistics.
#
# Included last: with `jobs.capture: per_model` it generates one capture job per model writing exactly the
# captures and statistics the rules above asked for (capture_file / stats_file, entangle.workflow.captures).
#
# How a capture gets into the plan: capture_file() and stats_file() (rules/common.smk) return its path and
# request it, so a rule that reads a capture requests it in its own input. The wildcard rules that read captures
# (mapping_difficulty, nc_layer_top_pairs, clamp_ablation, disentangle_layer) learn their files only when the DAG
# is built, after the plan is fixed; so the captures behind the files they will be asked for are requested at
# parse time, in one block beside the rules that ask for those files: rules/zscores.smk (mapping_captures for
# each NC-F2 layer), rules/negative.smk (clamp_stats for each model NC-F4 clamps), rules/disentangle.smk
# (DIS_INPUTS for each analysed matrix). WD-F2 and NC-F3, F5, F6 read the captures behind their mapping files
# themselves. The path helpers of those derived files (mapping_file, zscore_file, clamp_file, dis_files) request
# nothing: each file's path says nothing about the plan, and the requests stand where the items are declared.
# Granularity (`jobs.capture`):
#   per_layer (paper): token windows per (model, split); capture per (model, revision, split, layer, matrix);
#                      neuron_stats per captured matrix; a cluster spreads them.
#   per_model (smoke, mini, real): per model one "dense pass" job: its token windows of every split the rules
#                      read, its calibration windows and vocabulary where needed, its evaluation perplexity, and
#                      every requested capture (each revision loaded once, all its requested layers and matrices
#                      in one forward pass) with the statistics: start-up and model loading are paid once.


rule token_windows:
    """Tokenize a split with the model's tokenizer; non-overlapping windows of the model's context."""
    input:
        checkpoints=model_dir,
        text=f"{R}/data/text/{{split}}.txt",  # make_text
    output:
        windows=f"{R}/tokens/{{model}}/{{split}}.npy",
    params:
        model=model_spec,
        text_dir=text_dir,
        splits=lambda w: [w.split],
    log:
        log("token_windows/{model}.{split}"),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/token_windows.py"


if CAPTURES.jobs == "per_model":
    EVAL_SPLIT, EVAL_MAX = S["evaluation"]["split"], S["evaluation"]["max_windows"]
    TOKEN_SPLITS = token_splits(S)
    CALIBRATED = sparsify_calibration_models(S)
    CALIBRATION = {"split": SP["calibration"]["split"], "n_windows": SP["calibration"]["windows"]}
    # decode the NC token-pair tables: the GELU model's and the gated model's (analysed beside it)
    VOCABULARY = {GELU_MODEL.name, *([GATED_MODEL.name] if GATED_MODEL else [])}

    # One rule per model, named dense_pass_<model> with - and . as _ (dense_pass_neox_m, dense_pass_pythia_1_4b).
    for _model, _spec in MODELS.items():
        _text = sorted({*TOKEN_SPLITS, *([CALIBRATION["split"]] if _model in CALIBRATED else [])})
        _rule = f"dense_pass_{_model}".replace("-", "_").replace(".", "_")
        _perplexity = f"{R}/perplexity/{_model}/{_spec.revision}/{EVAL_SPLIT}"
        _calibration = CALIBRATION if _model in CALIBRATED else None
        _vocabulary = f"{R}/tokens/{_model}/vocabulary.json" if _model in VOCABULARY else None

        rule:
            name:
                _rule
            input:
                checkpoints=f"{R}/models/{_model}",
                text=[rules.make_text.output[s] for s in _text],
            output:
                windows=[f"{R}/tokens/{_model}/{s}.npy" for s in TOKEN_SPLITS],
                nll=f"{_perplexity}.csv",
                summary=f"{_perplexity}.json",
                files=CAPTURES.outputs(_model),
                **({"calibration": f"{R}/sparsify/{_model}/calibration.npy"} if _calibration else {}),
                **({"vocabulary": _vocabulary} if _vocabulary else {}),
            params:
                model=asdict(_spec),
                text_dir=text_dir,
                splits=TOKEN_SPLITS,
                calibration_cut=_calibration,
                units=CAPTURES.units(_model),
                max_windows=S["capture"]["max_windows"],
                evaluation={"revision": _spec.revision, "split": EVAL_SPLIT, "max_windows": EVAL_MAX},
                method=S["wasserstein"]["method"],
                seed=S["seed"],
                device=DEVICE,
            threads: S["threads"]
            priority: 1 if _model in PRETRAINED else 0  # the pretrained model's long chain of jobs starts first
            resources:
                gpu=GPU,
            log:
                log(f"dense_pass/{_model}"),
            benchmark:
                bench(f"dense_pass/{_model}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/dense_pass.py"

        # files of other revisions, splits or models come from the per-file rules
        for _fine in ("perplexity", "token_windows", "nc_vocabulary", "sparsify_calibration"):
            workflow.ruleorder(_rule, _fine)

    CAPTURES.freeze()

else:

    rule capture:
        """Inputs [T, d_in] and pre-activation outputs [T, d_out] of blocks.{layer}.mlp.{matrix}, and its weight [d_out, d_in]."""
        input:
            checkpoints=model_dir,
            windows=f"{R}/tokens/{{model}}/{{split}}.npy",  # token_windows
        output:
            inputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.in.npy",
            outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
            weight=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.weight.npy",
        params:
            model=model_spec,
            max_windows=S["capture"]["max_windows"],
            device=DEVICE,
        threads: S["threads"]
        resources:
            gpu=GPU,
        log:
            log("capture/{model}.{revision}.{split}.L{layer}.{matrix}"),
        benchmark:
            bench("capture/{model}.{revision}.{split}.L{layer}.{matrix}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/capture.py"

    rule neuron_stats:
        """Per neuron of one matrix: WD to N(0,1), output mean/std, share negative, mean |w| and row norm."""
        input:
            # both written by capture
            outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
            weight=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.weight.npy",
        output:
            stats=f"{R}/stats/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.csv",
        params:
            method=S["wasserstein"]["method"],
            seed=S["seed"],
        threads: S["threads"]
        log:
            log("neuron_stats/{model}.{revision}.{split}.L{layer}.{matrix}"),
        benchmark:
            bench("neuron_stats/{model}.{revision}.{split}.L{layer}.{matrix}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/neuron_stats.py"
