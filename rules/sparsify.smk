# Sparsification: magnitude, Wanda, SparseGPT, Sparse Expansion; perplexity tables (WD-F9, WD-TA, WD-FA3, WD-V1).
#
# One job per (model, method, sparsity[, K]): calibration windows -> block-by-block pruning of the FFN
# linears (attention dense) -> test perplexity. Files: results/<scale>/sparsify/<model>/<run>/<sparsity>.json
# with run = dense | magnitude | wanda | sparsegpt | se<K> and sparsity = 0.5 | 2-4 (N:M) | 0 (dense).

SP = S.get("sparsify")

if SP:
    from entangle.evaluation.contrasts import nll_path  # a run's per-window NLL (claims 19-21: paired over windows)
    from entangle.sparsify.masks import Sparsity as _Sparsity

    def _sp_spec(value, where):
        """Canonical sparsity text ('0.5', '2:4'), or a WorkflowError naming the config key."""
        try:
            return str(_Sparsity.parse(value.strip() if isinstance(value, str) else value))
        except ValueError as err:
            raise WorkflowError(f"config scales.{SCALE.name}.sparsify.{where}: {err}") from None

    SP_SPARSITIES = [_sp_spec(v, f"sparsities[{i}]") for i, v in enumerate(SP["sparsities"])]
    SP_UNSTRUCTURED = [s for s in SP_SPARSITIES if ":" not in s]
    SP_K = SP["expansion"]["num_clusters"]
    SP_EXPERTS = SP["experts"]
    SP_EXPERTS_SPARSITY = _sp_spec(SP_EXPERTS["sparsity"], "experts.sparsity")
    SP_FLOP = SP["flop_matched"]
    SP_EVAL_SPLIT = SP["evaluation"]["split"]
    SP_BASELINES = [m for m in ("magnitude", "wanda", "sparsegpt") if m in SP["methods"]]

    def _sp_check():
        """Bad settings stop the workflow before any job runs (what can be known without loading a model)."""
        where = f"scales.{SCALE.name}.sparsify"
        used = {m: f"{where}.models" for m in SP["models"]}
        used.setdefault(SP_EXPERTS["model"], f"{where}.experts.model")
        used.update({m: f"{where}.flop_matched.models" for m in SP_FLOP["models"] if m not in used})
        for m, key in used.items():
            if m not in MODELS:
                raise WorkflowError(f"config {key}: {m!r} is not a model of this scale; defined: {', '.join(MODELS)}")
        if "sparse_expansion" not in SP["methods"] or "sparsegpt" not in SP["methods"]:
            raise WorkflowError(f"config {where}.methods must include sparsegpt and sparse_expansion "
                                "(WD-FA3 and WD-V1 compare them)")
        if SP_EXPERTS_SPARSITY not in SP_SPARSITIES or ":" in SP_EXPERTS_SPARSITY:
            raise WorkflowError(f"config {where}.experts.sparsity = {SP_EXPERTS_SPARSITY!r} must be one of the "
                                f"unstructured sparsities {SP_UNSTRUCTURED} (WD-FA3 compares with SparseGPT there)")
        for m in used:
            ks = [SP_K] + (SP_EXPERTS["ks"] if m == SP_EXPERTS["model"] else [])
            ks += SP_FLOP["ks"] if m in SP_FLOP["models"] else []
            tokens = SP["calibration"]["windows"] * MODELS[m].context
            if max(ks) > tokens:
                raise WorkflowError(f"config {where}: K={max(ks)} experts for model {m!r} is larger than its "
                                    f"{tokens} calibration tokens (calibration.windows x context); "
                                    "use more windows or fewer experts")
            size = MODELS[m].size
            if not size:
                continue  # hub model: widths are checked by the job before any work
            widths = {"d_model": size["d_model"], "d_ff": size["d_ff"]}
            for s in SP_SPARSITIES:
                sp = _Sparsity.parse(s)
                bad = {k: v for k, v in widths.items() if sp.is_nm and v % sp.m}
                if bad:
                    raise WorkflowError(f"config {where}.sparsities: N:M {s} needs FFN input widths divisible by "
                                        f"M={sp.m}; model {m!r} has {bad}")
            pf = SP["expansion"]["pca_factor"]
            if pf is not None and pf > min(widths.values()):
                raise WorkflowError(f"config {where}.expansion.pca_factor = {pf} leaves no PCA component for model "
                                    f"{m!r} (widths {widths}); use at most {min(widths.values())}")

    _sp_check()

    def sp_run(model, method, sparsity="0", k=None):
        """Summary JSON of one run; method dense|magnitude|wanda|sparsegpt|sparse_expansion."""
        run = f"se{k}" if method == "sparse_expansion" else method
        return f"{R}/sparsify/{model}/{run}/{sparsity.replace(':', '-')}.json"

    def _sp_settings(run, sparsity):
        """Settings of one run (method or seK) at one sparsity (file form: '0.5', '2-4')."""
        method = "sparse_expansion" if run.startswith("se") else run
        return {"method": method, "sparsity": sparsity.replace("-", ":"),
                "num_clusters": int(run[2:]) if method == "sparse_expansion" else SP_K,
                "pca_factor": SP["expansion"]["pca_factor"], "n_init": SP["expansion"]["n_init"], "seed": S["seed"],
                "batch_size": SP["batch_size"], "ties": S["prune_ties"]}

    rule sparsify_calibration:
        """Random calibration windows of the model's context from the calibration split (seeded)."""
        input:
            checkpoints=model_dir,
            text=f"{R}/data/text/{SP['calibration']['split']}.txt",
        output:
            calibration=f"{R}/sparsify/{{model}}/calibration.npy",
        params:
            model=model_spec,
            text_dir=f"{R}/data/text",
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

    def _table_runs(models):
        return [sp_run(m, "dense") for m in models] + [
            sp_run(m, meth, s, SP_K) for m in models for meth in SP["methods"] for s in SP_SPARSITIES]

    SP_TABLE_RUNS = _table_runs(SP["models"])
    SP_FA3_RUNS = ([sp_run(SP_EXPERTS["model"], "dense"), sp_run(SP_EXPERTS["model"], "sparsegpt", SP_EXPERTS_SPARSITY)]
                   + [sp_run(SP_EXPERTS["model"], "sparse_expansion", SP_EXPERTS_SPARSITY, k)
                      for k in sorted(set(SP_EXPERTS["ks"]))])
    SP_V1_KS = sorted(set(SP_FLOP["ks"]))
    SP_V1_RUNS = [sp_run(m, "dense") for m in SP_FLOP["models"]] + [
        sp_run(m, meth, s) for m in SP_FLOP["models"] for meth in SP_BASELINES for s in SP_UNSTRUCTURED] + [
        sp_run(m, "sparse_expansion", s, k) for m in SP_FLOP["models"] for s in SP_UNSTRUCTURED for k in SP_V1_KS]
    SP_CONTEXT = {"scale": SCALE.name, "calibration_split": SP["calibration"]["split"],
                  "calibration_windows": SP["calibration"]["windows"], "eval_split": SP_EVAL_SPLIT,
                  "max_windows": SP["evaluation"].get("max_windows"), "pca_factor": SP["expansion"]["pca_factor"],
                  "n_init": SP["expansion"]["n_init"], "dtype": SP["dtype"], "evaluate": SP["evaluate"]}

    SP_GROUPS = {}  # (model, run) -> sparsities (file form) that some item needs
    for _path in dict.fromkeys(SP_TABLE_RUNS + SP_FA3_RUNS + SP_V1_RUNS):
        _model, _run, _file = _path.split("/")[-3:]
        SP_GROUPS.setdefault((_model, _run), []).append(_file.removesuffix(".json"))

    if SP["jobs"] == "per_setting":
        rule sparsify_prune:
            """Sparsify one model's FFN linears (one method, sparsity, K) block by block; test perplexity."""
            input:
                checkpoints=model_dir,
                calibration=f"{R}/sparsify/{{model}}/calibration.npy",
                windows=f"{R}/tokens/{{model}}/{SP_EVAL_SPLIT}.npy",
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
                max_windows=SP["evaluation"].get("max_windows"),
                evaluate=SP["evaluate"],
                dtype=SP["dtype"],
                dataset=DATASET,
                seed=S["seed"],
                save_to=lambda w: [f"{R}/sparsify/{w.model}/{w.run}/{w.sparsity}.pt" if SP["save_models"] else None],
                device="cuda" if GPU else "cpu",
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


    else:  # per_method: one job per (model, run) over all its sparsities; start-up is paid once

        for (_model, _run), _sparsities in SP_GROUPS.items():
            _files = lambda ext, m=_model, r=_run, sps=_sparsities: [f"{R}/sparsify/{m}/{r}/{sp}{ext}" for sp in sps]

            rule:
                name:
                    f"sparsify_{_model}_{_run}".replace("-", "_").replace(".", "_")
                input:
                    checkpoints=f"{R}/models/{_model}",
                    calibration=f"{R}/sparsify/{_model}/calibration.npy",
                    windows=f"{R}/tokens/{_model}/{SP_EVAL_SPLIT}.npy",
                output:
                    summary=_files(".json"),
                    nll=_files(".nll.csv"),
                    **({"state": _files(".pt")} if SP["save_models"] else {}),
                params:
                    model=asdict(MODELS[_model]),
                    settings=[_sp_settings(_run, sp) for sp in _sparsities],
                    eval_split=SP_EVAL_SPLIT,
                    max_windows=SP["evaluation"].get("max_windows"),
                    evaluate=SP["evaluate"],
                    dtype=SP["dtype"],
                    dataset=DATASET,
                    seed=S["seed"],
                    save_to=_files(".pt") if SP["save_models"] else [None] * len(_sparsities),
                    device="cuda" if GPU else "cpu",
                threads: S["threads"]
                resources:
                    gpu=GPU,
                log:
                    log(f"sparsify/{_model}.{_run}"),
                benchmark:
                    bench(f"sparsify/{_model}.{_run}")
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
