# Partial sparsification (WD-F3; the numbers of WD-F5a): SparseGPT on only the top-p% rows (neurons) of every
# FFN matrix (gate, up, down), chosen by WD, output mean, output variance, weight magnitude or at random.
#
# partial_sparsify: the dense model's per-row statistics on the sparsify calibration windows (train split) ->
# rows per matrix -> row-wise SparseGPT at each per-row sparsity -> perplexity on the sparsify evaluation split;
# for `wd` with `expand`, also Sparse Expansion (K = disentangle.num_clusters) of those rows only.
# One job for every selection (`partial.jobs: one`) or one per selection (`per_selection`).
# Files: results/<scale>/partial/<model>/<selection>.json, selection = wd | mean | variance | magnitude | random<seed>.
# With `partial.downstream` (paper): the headline-sparsity sparse FFN state <selection>.<headline>.pt (temporary:
# every FFN weight, 11 GB for Llama-3-8B in fp16, deleted once its downstream job is done) and the
# lm-evaluation-harness scores <selection>.downstream.json (selection "dense" too).

PT = S.get("partial")

if PT:
    from entangle.neurons.selection import selection_names

    _PT_WHERE = f"scales.{SCALE.name}.partial"

    def _pt_check():
        """Bad settings stop the workflow before any job runs, naming the config key and the fix."""
        if not SP:
            raise WorkflowError(f"config {_PT_WHERE} needs a `sparsify` block at this scale (its calibration "
                                "windows, evaluation split, Sparse Expansion settings and dtype); add one or remove "
                                "`partial`")
        if PT["model"] not in MODELS:
            raise WorkflowError(f"config {_PT_WHERE}.model: {PT['model']!r} is not a model of this scale; "
                                f"use one of: {', '.join(MODELS)}")
        if "wd" not in PT["selections"]:
            raise WorkflowError(f"config {_PT_WHERE}.selections = {PT['selections']} must include wd (WD-F3 compares "
                                "every other selection with it); add wd")
        for i, s in enumerate(PT["sparsities"]):
            if not 0 < float(s) < 1:
                raise WorkflowError(f"config {_PT_WHERE}.sparsities[{i}] = {s!r}: a per-row sparsity must be in "
                                    "(0, 1), e.g. '0.9'")
        if PT["headline"] not in PT["sparsities"]:
            raise WorkflowError(f"config {_PT_WHERE}.headline = {PT['headline']!r} must be one of "
                                f"{_PT_WHERE}.sparsities {PT['sparsities']} (claims 6 and 14 compare there); "
                                "add it to sparsities or pick one of them")
        if PT["expand"]:
            if not S.get("disentangle"):
                raise WorkflowError(f"config {_PT_WHERE}.expand: true takes K from scales.{SCALE.name}.disentangle."
                                    "num_clusters, but there is no `disentangle` block; add one or set expand: false")
            k = S["disentangle"]["num_clusters"]
            tokens = SP["calibration"]["windows"] * MODELS[PT["model"]].context
            if k > tokens:
                raise WorkflowError(f"config scales.{SCALE.name}.disentangle.num_clusters = {k} experts is larger "
                                    f"than the {tokens} calibration tokens of {PT['model']!r} "
                                    f"(sparsify.calibration.windows x context); use more windows or fewer experts")
            size, pf = MODELS[PT["model"]].size, SP["expansion"]["pca_factor"]
            if size and pf is not None and pf > min(size["d_model"], size["d_ff"]):
                raise WorkflowError(f"config scales.{SCALE.name}.sparsify.expansion.pca_factor = {pf} leaves no PCA "
                                    f"component for {PT['model']!r} (d_model {size['d_model']}, d_ff {size['d_ff']}); "
                                    f"use at most {min(size['d_model'], size['d_ff'])} or set {_PT_WHERE}.expand: false")

    _pt_check()

    PT_MODEL = PT["model"]
    PT_NAMES = selection_names(PT["selections"], PT["random_seeds"])
    PT_HEADLINE = PT["headline"]
    PT_K = S["disentangle"]["num_clusters"] if PT["expand"] else None
    PT_DOWNSTREAM = PT.get("downstream")
    PT_DIR = f"{R}/partial/{PT_MODEL}"

    def pt_run(selection):
        """Summary JSON of one selection (wd, mean, variance, magnitude, random<seed>)."""
        return f"{PT_DIR}/{selection}.json"

    def _pt_state(selection):
        return f"{PT_DIR}/{selection}.{PT_HEADLINE}.pt" if PT_DOWNSTREAM else None

    PT_PARAMS = dict(
        model=asdict(MODELS[PT_MODEL]),
        percent=PT["percent"],
        sparsities=list(PT["sparsities"]),
        headline=PT_HEADLINE,
        expand=PT["expand"],
        num_clusters=PT_K or SP["expansion"]["num_clusters"],
        pca_factor=SP["expansion"]["pca_factor"],
        n_init=SP["expansion"]["n_init"],
        batch_size=SP["batch_size"],
        dtype=SP["dtype"],
        evaluate=SP["evaluate"],
        eval_split=SP_EVAL_SPLIT,
        calibration_split=SP["calibration"]["split"],
        max_windows=SP["evaluation"].get("max_windows"),
        dataset=DATASET,
        seed=S["seed"],
        wd_method=S.get("wasserstein", {}).get("method", "fast"),
        device="cuda" if GPU else "cpu",
    )
    PT_INPUT = dict(
        checkpoints=f"{R}/models/{PT_MODEL}",
        calibration=f"{R}/sparsify/{PT_MODEL}/calibration.npy",
        windows=f"{R}/tokens/{PT_MODEL}/{SP_EVAL_SPLIT}.npy",
    )

    if PT["jobs"] == "per_selection":
        rule partial_sparsify:
            """Row-wise SparseGPT of one selection's rows of every FFN matrix at each per-row sparsity; test perplexity."""
            input:
                **PT_INPUT,
            output:
                summary=f"{PT_DIR}/{{selection}}.json",
                **({"save_to": temp(f"{PT_DIR}/{{selection}}.{PT_HEADLINE}.pt")} if PT_DOWNSTREAM else {}),
            wildcard_constraints:
                selection=_alternatives(PT_NAMES),
            params:
                selections=lambda w: [w.selection],
                **({} if PT_DOWNSTREAM else {"save_to": [None]}),
                **PT_PARAMS,
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"partial/{PT_MODEL}.{{selection}}"),
            benchmark:
                bench(f"partial/{PT_MODEL}.{{selection}}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/partial_sparsify.py"

    else:  # one: every selection in one job (statistics and start-up paid once)

        rule partial_sparsify:
            """Row-wise SparseGPT of every selection's rows of every FFN matrix at each per-row sparsity; test PPL."""
            input:
                **PT_INPUT,
            output:
                summary=[pt_run(n) for n in PT_NAMES],
                **({"save_to": temp([_pt_state(n) for n in PT_NAMES])} if PT_DOWNSTREAM else {}),
            params:
                selections=PT_NAMES,
                **({} if PT_DOWNSTREAM else {"save_to": [None] * len(PT_NAMES)}),
                **PT_PARAMS,
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"partial/{PT_MODEL}"),
            benchmark:
                bench(f"partial/{PT_MODEL}")
            conda:
                "../envs/torch.yaml"
            script:
                "../scripts/partial_sparsify.py"

    PT_DOWNSTREAM_FILES = []
    if PT_DOWNSTREAM:
        PT_DOWNSTREAM_FILES = [f"{PT_DIR}/{n}.downstream.json" for n in ["dense"] + PT_NAMES]

        rule partial_downstream:
            """WD-F3 b-d: lm-evaluation-harness scores of the dense model or of one selection's headline sparse model."""
            input:
                checkpoints=f"{R}/models/{PT_MODEL}",
                state=lambda w: [] if w.selection == "dense" else [_pt_state(w.selection)],
            output:
                scores=f"{PT_DIR}/{{selection}}.downstream.json",
            wildcard_constraints:
                selection=_alternatives(["dense"] + PT_NAMES),
            params:
                model=asdict(MODELS[PT_MODEL]),
                state_file=lambda w: None if w.selection == "dense" else _pt_state(w.selection),
                tasks=list(PT_DOWNSTREAM["tasks"]),
                limit=PT_DOWNSTREAM.get("limit"),
                batch_size=PT_DOWNSTREAM.get("batch_size", 8),
                dtype=SP["dtype"],
                seed=S["seed"],
                device="cuda" if GPU else "cpu",
            threads: S["threads"]
            resources:
                gpu=GPU,
            log:
                log(f"partial/{PT_MODEL}.{{selection}}.downstream"),
            benchmark:
                bench(f"partial/{PT_MODEL}.{{selection}}.downstream")
            conda:
                "../envs/eval.yaml"
            script:
                "../scripts/wd_fig3_downstream.py"

    rule wd_fig3_analysis:
        """WD-F3: perplexity vs per-row sparsity per selection (random: mean, range over seeds); downstream panels."""
        input:
            runs=[pt_run(n) for n in PT_NAMES],
            downstream=PT_DOWNSTREAM_FILES,
        output:
            **item_outputs("WD-F3"),
        params:
            names=PT_NAMES,
            sparsities=list(PT["sparsities"]),
            headline=PT_HEADLINE,
            tasks=list(PT_DOWNSTREAM["tasks"]) if PT_DOWNSTREAM else [],
            context={"scale": SCALE.name, "model": PT_MODEL, "percent": PT["percent"],
                     "selections": ", ".join(PT_NAMES), "sparsities": ", ".join(PT["sparsities"]),
                     "headline": PT_HEADLINE, "calibration_split": SP["calibration"]["split"],
                     "calibration_windows": SP["calibration"]["windows"], "eval_split": SP_EVAL_SPLIT,
                     "max_windows": SP["evaluation"].get("max_windows"), "dtype": SP["dtype"],
                     "evaluate": SP["evaluate"], "wd_method": PT_PARAMS["wd_method"],
                     "expand_k": PT_K, "random_seeds": PT["random_seeds"]},
            scale=SCALE.name,
        log:
            log("items/WD-F3"),
        conda:
            "../envs/analysis.yaml"  # entangle.sparsify.partial imports torch
        script:
            "../scripts/wd_fig3.py"
