# Perplexity (reference protocol, per-window NLL) and the model-zoo table.


rule perplexity:
    """Per-window NLL and perplexity of one model revision on one split."""
    input:
        checkpoints=model_dir,
        windows=f"{R}/tokens/{{model}}/{{split}}.npy",  # token_windows or dense_pass_<model>
    output:
        nll=f"{R}/perplexity/{{model}}/{{revision}}/{{split}}.csv",
        summary=f"{R}/perplexity/{{model}}/{{revision}}/{{split}}.json",
    params:
        model=model_spec,
        max_windows=S["evaluation"]["max_windows"],
        seed=S["seed"],
        device=DEVICE,
    threads: S["threads"]
    resources:
        gpu=GPU,
    log:
        log("perplexity/{model}.{revision}.{split}"),
    benchmark:
        bench("perplexity/{model}.{revision}.{split}")
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/perplexity.py"


rule zoo_table:
    """Every model: family, size, perplexity on the evaluation split, and (zoo) the unigram baseline."""
    input:
        models=[f"{R}/models/{m}" for m in MODELS],  # train_model or fetch_model
        # perplexity or (jobs.capture: per_model) dense_pass_<model>
        summaries=[f"{R}/perplexity/{m}/{spec.revision}/{S['evaluation']['split']}.json" for m, spec in MODELS.items()],
    output:
        table=f"{R}/tables/zoo.csv",
        markdown=f"{R}/tables/zoo.md",
        figure=f"{R}/figures/zoo_training.png",
    params:
        scale=SCALE.name,
        dataset=DATASET,
    localrule: True
    log:
        log("zoo_table"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/zoo_table.py"
