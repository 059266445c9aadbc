# Token windows, captured activations and per-neuron statistics.
#
# Included last: with `capture.jobs: per_model` it generates one capture job per model writing exactly the
# captures and statistics the rules above asked for (capture_file / stats_file, entangle.workflow.captures).
# Granularity (`capture.jobs`):
#   per_layer (paper): token windows per (model, split); capture per (model, revision, split, layer, matrix);
#                      neuron_stats per captured matrix; a cluster spreads them.
#   per_model (smoke, mini, real): token windows of every split a model needs in one job; per model one job
#                      that loads each revision once and captures every requested layer and matrix in one
#                      forward pass, with the statistics: start-up and model loading are paid once.


rule token_windows:
    """Tokenize a split with the model's tokenizer; non-overlapping windows of the model's context."""
    input:
        checkpoints=model_dir,
        text=f"{R}/data/text/{{split}}.txt",
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
    TOKEN_SPLITS = token_splits(S)

    rule model_token_windows:
        """Token windows of every split the rules read (evaluation, capture, ...), one tokenizer load per model."""
        input:
            checkpoints=model_dir,
            text=[f"{R}/data/text/{s}.txt" for s in TOKEN_SPLITS],
        output:
            windows=[f"{R}/tokens/{{model}}/{s}.npy" for s in TOKEN_SPLITS],
        params:
            model=model_spec,
            text_dir=text_dir,
            splits=TOKEN_SPLITS,
        log:
            log("token_windows/{model}"),
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/token_windows.py"

    ruleorder: model_token_windows > token_windows

    for _model in CAPTURES.models():

        rule:
            name:
                f"capture_{_model}".replace("-", "_").replace(".", "_")
            input:
                checkpoints=f"{R}/models/{_model}",
                windows=[f"{R}/tokens/{_model}/{s}.npy" for s in CAPTURES.splits(_model)],
            output:
                files=CAPTURES.outputs(_model),
            params:
                model=asdict(MODELS[_model]),
                splits=CAPTURES.splits(_model),
                units=CAPTURES.units(_model),
                max_windows=S["capture"].get("max_windows"),
                method=S.get("wasserstein", {}).get("method", "fast"),
                seed=S["seed"],
                device=DEVICE,
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"capture/{_model}"),
            benchmark:
                bench(f"capture/{_model}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/capture_model.py"

    CAPTURES.freeze()

else:

    rule capture:
        """Inputs [T, d_in] and pre-activation outputs [T, d_out] of blocks.{layer}.mlp.{matrix}, and its weight [d_out, d_in]."""
        input:
            checkpoints=model_dir,
            windows=f"{R}/tokens/{{model}}/{{split}}.npy",
        output:
            inputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.in.npy",
            outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
            weight=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.weight.npy",
        params:
            model=model_spec,
            max_windows=S["capture"].get("max_windows"),
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
            outputs=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.out.npy",
            weight=f"{R}/activations/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.weight.npy",
        output:
            stats=f"{R}/stats/{{model}}/{{revision}}/{{split}}/L{{layer}}.{{matrix}}.csv",
        params:
            method=S.get("wasserstein", {}).get("method"),
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
