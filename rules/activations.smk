# Token windows and captured activations, one (model, revision, split, layer, matrix) per job.


rule token_windows:
    """Tokenize a split with the model's tokenizer; non-overlapping windows of the model's context."""
    input:
        checkpoints=model_dir,
        text=f"{R}/data/text/{{split}}.txt",
    output:
        windows=f"{R}/tokens/{{model}}/{{split}}.npy",
    params:
        model=model_spec,
        text_dir=f"{R}/data/text",
    log:
        log("token_windows/{model}.{split}"),
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/token_windows.py"


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
        device="cuda" if GPU else "cpu",
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
