# Sparsification: magnitude, Wanda, SparseGPT, Sparse Expansion; perplexity tables (WD-F9, WD-TA, WD-FA3, WD-V1).
#
# Per run (model, method, sparsity[, K]): calibration windows -> block-by-block pruning of the FFN linears
# (attention dense) -> test perplexity. Jobs (`jobs.sparsify`): one per run (per_setting, paper), one per
# (model, method) over its sparsities (per_method), or one per model over all its runs (per_model); a job
# reloads the dense model for each run, so the results do not depend on the grouping. Files: results/<scale>/sparsify/<model>/<run>/<sparsity>.json
# with run = dense | magnitude | wanda | sparsegpt | se<K> and sparsity = 0.5 | 2-4 (N:M) | 0 (dense).

SP_SPARSITIES = SP_RUNS.sparsities
SP_K = SP["expansion"]["num_clusters"]
SP_EXPERTS = SP["experts"]
SP_EXPERTS_SPARSITY = canonical_sparsity(SP_EXPERTS["sparsity"], "experts.sparsity", SCALE.name)
_sp_settings = partial(sparsify_run_settings, SP, S["seed"], S["prune_ties"])  # _sp_settings(run, sparsity)

rule sparsify_calibration:
    """Random calibration windows of the model's context from the calibration split (seeded)."""
    input:
        checkpoints=model_dir,
        text=rules.make_text.output[SP["calibration"]["split"]],
    output:
        calibration=f"{R}/sparsify/{{model}}/calibration.npy",
    params:
        model=model_spec,
        text_dir=text_dir,
        split=SP["calibration"]["split"],
        n_windows=SP["calibration"]["windows"],
        seed=S["seed"],
    log:
        log("sparsify/{model}.calibration"),
    benchmark:
        bench("sparsify/{model}.calibration")
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/sparsify_calibration.py"

SP_TABLE_RUNS, SP_FA3_RUNS, SP_V1_RUNS, SP_V1_KS = SP_RUNS.table, SP_RUNS.fa3, SP_RUNS.v1, SP_RUNS.v1_ks
SP_CONTEXT = {"scale": SCALE.name, "calibration_split": SP["calibration"]["split"],
              "calibration_windows": SP["calibration"]["windows"], "eval_split": SP_EVAL_SPLIT,
              "max_windows": SP["evaluation"]["max_windows"], "pca_factor": SP["expansion"]["pca_factor"],
              "n_init": SP["expansion"]["n_init"], "dtype": SP["dtype"], "evaluate": SP["evaluate"]}

if S["jobs"]["sparsify"] == "per_setting":
    rule sparsify_prune:
        """Sparsify one model's FFN linears (one method, sparsity, K) block by block; test perplexity."""
        input:
            checkpoints=model_dir,
            calibration=f"{R}/sparsify/{{model}}/calibration.npy",  # sparsify_calibration or dense_pass_<model>
            windows=f"{R}/tokens/{{model}}/{SP_EVAL_SPLIT}.npy",  # token_windows or dense_pass_<model>
        output:
            summary=f"{R}/sparsify/{{model}}/{{run}}/{{sparsity}}.json",
            nll=f"{R}/sparsify/{{model}}/{{run}}/{{sparsity}}.nll.csv",
            **({"state": f"{R}/sparsify/{{model}}/{{run}}/{{sparsity}}.pt"} if SP["save_models"] else {}),
        wildcard_constraints:
            run=r"dense|magnitude|wanda|sparsegpt|se\d+",
            sparsity=r"\d+(\.\d+)?|\d+-\d+",
        params:
            model=model_spec,
            settings=lambda w: [_sp_settings(w.run, w.sparsity)],
            eval_split=SP_EVAL_SPLIT,
            max_windows=SP["evaluation"]["max_windows"],
            evaluate=SP["evaluate"],
            dtype=SP["dtype"],
            dataset=DATASET,
            seed=S["seed"],
            save_to=lambda w: [f"{R}/sparsify/{w.model}/{w.run}/{w.sparsity}.pt" if SP["save_models"] else None],
            device=DEVICE,
        threads: S["threads"]
        resources:
            gpu=GPU,
        log:
            log("sparsify/{model}.{run}.{sparsity}"),
        benchmark:
            bench("sparsify/{model}.{run}.{sparsity}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/sparsify_prune.py"


else:  # per_method: one job per (model, run) over its sparsities; per_model: one job per model over all its runs

    # One rule per job, with - and . as _: sparsify_<model> (per_model: sparsify_llama), or sparsify_<model>_<run>
    # (per_method: sparsify_llama_wanda, sparsify_llama_se16).
    for _name, (_model, _runs) in SP_RUNS.jobs(S["jobs"]["sparsify"]).items():
        _files = lambda ext, m=_model, rs=_runs: [f"{R}/sparsify/{m}/{r}/{sp}{ext}" for r, sp in rs]

        rule:
            name:
                f"sparsify_{_name}".replace("-", "_").replace(".", "_")
            input:
                checkpoints=f"{R}/models/{_model}",
                calibration=f"{R}/sparsify/{_model}/calibration.npy",  # sparsify_calibration or dense_pass_<model>
                windows=f"{R}/tokens/{_model}/{SP_EVAL_SPLIT}.npy",  # token_windows or dense_pass_<model>
            output:
                summary=_files(".json"),
                nll=_files(".nll.csv"),
                **({"state": _files(".pt")} if SP["save_models"] else {}),
            params:
                model=asdict(MODELS[_model]),
                settings=[_sp_settings(r, sp) for r, sp in _runs],
                eval_split=SP_EVAL_SPLIT,
                max_windows=SP["evaluation"]["max_windows"],
                evaluate=SP["evaluate"],
                dtype=SP["dtype"],
                dataset=DATASET,
                seed=S["seed"],
                save_to=_files(".pt") if SP["save_models"] else [None] * len(_runs),
                device=DEVICE,
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"sparsify/{_name}"),
            benchmark:
                bench(f"sparsify/{_name}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/sparsify_prune.py"

rule wd_table_ppl_analysis:
    """WD-TA: test perplexity, rows = models, columns = method x sparsity (tidy CSV + rendered Markdown)."""
    input:
        runs=SP_TABLE_RUNS,
        nll=[nll_path(r) for r in SP_TABLE_RUNS],
    output:
        **item_outputs("WD-TA", figure=False),
    params:
        sparsities=SP_SPARSITIES,
        methods=SP["methods"],
        k=SP_K,
        context=SP_CONTEXT,
        scale=SCALE.name,
    log:
        log("items/WD-TA"),
    conda:
        "../envs/torch.yaml"  # entangle.sparsify imports torch
    script:
        "../scripts/wd_table_ppl.py"

rule wd_fig9_analysis:
    """WD-F9: perplexity vs sparsity per model, Sparse Expansion (K) vs SparseGPT, Wanda, magnitude."""
    input:
        runs=SP_TABLE_RUNS,
        nll=[nll_path(r) for r in SP_TABLE_RUNS],
    output:
        **item_outputs("WD-F9", table=False),
    params:
        sparsities=SP_SPARSITIES,
        methods=SP["methods"],
        k=SP_K,
        context=SP_CONTEXT,
        scale=SCALE.name,
    log:
        log("items/WD-F9"),
    conda:
        "../envs/torch.yaml"  # entangle.sparsify imports torch
    script:
        "../scripts/wd_fig9.py"

rule wd_fig_a3_analysis:
    """WD-FA3: Sparse Expansion perplexity vs the number of experts K at one sparsity (K=1 = SparseGPT)."""
    input:
        runs=SP_FA3_RUNS,
        nll=[nll_path(r) for r in SP_FA3_RUNS],
    output:
        **item_outputs("WD-FA3"),
    params:
        model=SP_EXPERTS["model"],
        sparsity=SP_EXPERTS_SPARSITY,
        context=SP_CONTEXT,
        scale=SCALE.name,
    log:
        log("items/WD-FA3"),
    conda:
        "../envs/torch.yaml"  # entangle.sparsify imports torch
    script:
        "../scripts/wd_fig_a3.py"

rule wd_table_v1_analysis:
    """WD-V1: at equal non-zero FFN weights per token, Sparse Expansion at several K vs the baselines."""
    input:
        runs=SP_V1_RUNS,
        nll=[nll_path(r) for r in SP_V1_RUNS],
    output:
        **item_outputs("WD-V1"),
    params:
        ks=SP_V1_KS,
        context=SP_CONTEXT,
        scale=SCALE.name,
    log:
        log("items/WD-V1"),
    conda:
        "../envs/torch.yaml"  # entangle.sparsify imports torch
    script:
        "../scripts/wd_table_v1.py"
