# Partial sparsification (WD-F3; the numbers of WD-F5a): SparseGPT on only the top-p% rows (neurons) of every
# FFN matrix (gate, up, down), chosen by WD, output mean, output variance, weight magnitude or at random.
#
# partial_sparsify: the dense model's per-row statistics on the sparsify calibration windows (train split) ->
# rows per matrix -> row-wise SparseGPT at each per-row sparsity -> perplexity on the sparsify evaluation split;
# for `wd` with `expand`, also Sparse Expansion (K = disentangle.num_clusters) of those rows only.
# One job for every selection (`jobs.partial: per_model`) or one per selection (`per_selection`).
# Files: results/<scale>/partial/<model>/<selection>.json, selection = wd | mean | variance | magnitude | random<seed>.
# With `partial.downstream` (paper): the headline-sparsity sparse FFN state <selection>.<headline>.pt (temporary:
# every FFN weight, 11 GB for Llama-3-8B in fp16, deleted once its downstream job is done) and the
# lm-evaluation-harness scores <selection>.downstream.json (selection "dense" too).

from entangle.neurons.selection import selection_names

PT_MODEL = PT["model"]
PT_NAMES = selection_names(PT["selections"], PT["random_seeds"])
PT_HEADLINE = PT["headline"]
PT_K = S["disentangle"]["num_clusters"] if PT["expand"] else None
PT_DOWNSTREAM = PT["downstream"]
PT_DIR = f"{R}/partial/{PT_MODEL}"

PT_RUNS = {n: f"{PT_DIR}/{n}.json" for n in PT_NAMES}  # summary JSON per selection (rule partial_sparsify)
# with downstream evaluation: the headline-sparsity sparse FFN state per selection
PT_STATES = {n: f"{PT_DIR}/{n}.{PT_HEADLINE}.pt" if PT_DOWNSTREAM else None for n in PT_NAMES}

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
    max_windows=SP["evaluation"]["max_windows"],
    dataset=DATASET,
    seed=S["seed"],
    wd_method=S["wasserstein"]["method"],
    device=DEVICE,
)
# The dense model's per-window NLL on the same evaluation windows: the sparsification table's dense run
# (rules/sparsify.smk, its rule writes it) where the table has one, else each job evaluates it itself.
PT_DENSE_RUN = sp_run(PT_MODEL, "dense")
PT_INPUT = dict(
    checkpoints=f"{R}/models/{PT_MODEL}",
    calibration=f"{R}/sparsify/{PT_MODEL}/calibration.npy",  # sparsify_calibration or dense_pass_<model>
    windows=f"{R}/tokens/{PT_MODEL}/{SP_EVAL_SPLIT}.npy",  # token_windows or dense_pass_<model>
    **({"dense_nll": nll_path(PT_DENSE_RUN)} if PT_DENSE_RUN in SP_RUNS.table else {}),
)

if S["jobs"]["partial"] == "per_selection":
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

else:  # per_model: every selection in one job (statistics and start-up paid once)

    rule partial_sparsify:
        """Row-wise SparseGPT of every selection's rows of every FFN matrix at each per-row sparsity; test PPL."""
        input:
            **PT_INPUT,
        output:
            summary=[PT_RUNS[n] for n in PT_NAMES],
            **({"save_to": temp([PT_STATES[n] for n in PT_NAMES])} if PT_DOWNSTREAM else {}),
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
            state=lambda w: [] if w.selection == "dense" else [PT_STATES[w.selection]],
        output:
            scores=f"{PT_DIR}/{{selection}}.downstream.json",
        wildcard_constraints:
            selection=_alternatives(["dense"] + PT_NAMES),
        params:
            model=asdict(MODELS[PT_MODEL]),
            state_file=lambda w: None if w.selection == "dense" else PT_STATES[w.selection],
            tasks=list(PT_DOWNSTREAM["tasks"]),
            limit=PT_DOWNSTREAM["limit"],
            batch_size=PT_DOWNSTREAM["batch_size"],
            dtype=SP["dtype"],
            seed=S["seed"],
            device=DEVICE,
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
        runs=[PT_RUNS[n] for n in PT_NAMES],
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
                 "max_windows": SP["evaluation"]["max_windows"], "dtype": SP["dtype"],
                 "evaluate": SP["evaluate"], "wd_method": PT_PARAMS["wd_method"],
                 "expand_k": PT_K, "random_seeds": PT["random_seeds"]},
        scale=SCALE.name,
    log:
        log("items/WD-F3"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/wd_fig3.py"
