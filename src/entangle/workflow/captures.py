"""The capture plan: which captured arrays and per-neuron statistics the analyses read, and the jobs that write them.

Files (the same at every granularity):
    results/<scale>/activations/<model>/<revision>/<split>/L<layer>.<matrix>.{in,out,weight}.npy
    results/<scale>/stats/<model>/<revision>/<split>/L<layer>.<matrix>.csv

Rules ask for these paths through `activation()` and `stats()` while the rule files are parsed; each call
records the request. Granularity (`jobs.capture`):
- `per_layer` (paper): generic rules make any requested file, one job per (model, revision, split, layer,
  matrix) for the arrays and one per statistics table, so a cluster spreads them;
- `per_model` (small scales, where process start-up and model loading cost more than the work): one job per
  model (its "dense pass", which also measures its evaluation perplexity) writes exactly the requested files
  of that model, every requested layer and matrix of a revision in one forward pass, statistics computed
  from the outputs in the same job (the outputs are only kept on disk where an analysis reads them). Its
  outputs are fixed when the rule is generated, so once the plan is frozen a request for a file outside it is an error that says where to ask for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ENDS = ("in", "out", "weight")
GRANULARITIES = ("per_model", "per_layer")


class PlanError(ValueError):
    """A capture file was requested that the (frozen) plan does not produce."""


@dataclass(frozen=True)
class Unit:
    """One matrix of one model revision on one split."""

    model: str
    revision: str
    split: str
    layer: int
    matrix: str


def revision_key(revision: str):
    """Sort key: stepN by N, anything else after, by name."""
    m = re.fullmatch(r"step(\d+)", revision)
    return (0, int(m.group(1)), "") if m else (1, 0, revision)


class CapturePlan:
    """Records requested capture files; groups them into one job per model (`per_model`)."""

    def __init__(self, results: str, split: str, jobs: str = "per_layer"):
        if jobs not in GRANULARITIES:
            raise ValueError(f"jobs.capture = {jobs!r}; allowed: {', '.join(GRANULARITIES)}")
        self.results, self.split, self.jobs = str(results), split, jobs
        self._wanted: dict[Unit, set[str]] = {}
        self.frozen = False

    # --- paths -------------------------------------------------------------------------------------------

    def activation_path(self, unit: Unit, end: str) -> str:
        return (f"{self.results}/activations/{unit.model}/{unit.revision}/{unit.split}/"
                f"L{unit.layer}.{unit.matrix}.{end}.npy")

    def stats_path(self, unit: Unit) -> str:
        return f"{self.results}/stats/{unit.model}/{unit.revision}/{unit.split}/L{unit.layer}.{unit.matrix}.csv"

    # --- requests ----------------------------------------------------------------------------------------

    def activation(self, model: str, revision: str, layer, matrix: str = "up", end: str = "out",
                   split: str | None = None) -> str:
        """Path of a captured array (end: in | out | weight), recorded as needed."""
        if end not in ENDS:
            raise ValueError(f"end = {end!r}; allowed: {', '.join(ENDS)}")
        unit = Unit(model, revision, split or self.split, int(layer), matrix)
        self._want(unit, end)
        return self.activation_path(unit, end)

    def stats(self, model: str, revision: str, layer, matrix: str = "up", split: str | None = None) -> str:
        """Path of a per-neuron statistics table, recorded as needed."""
        unit = Unit(model, revision, split or self.split, int(layer), matrix)
        self._want(unit, "stats")
        return self.stats_path(unit)

    def _want(self, unit: Unit, what: str) -> None:
        if what in self._wanted.get(unit, ()):
            return
        if self.frozen and self.jobs == "per_model":
            path = self.stats_path(unit) if what == "stats" else self.activation_path(unit, what)
            raise PlanError(f"{path} is not in the capture plan: with jobs.capture: per_model each model's "
                            "dense-pass job writes only the files requested while the rule files are parsed; ask "
                            "for it at parse time through capture_file()/stats_file() (rules/common.smk), not in "
                            "an input function")
        self._wanted.setdefault(unit, set()).add(what)

    def freeze(self) -> None:
        """No further requests (per_model: the capture rules have been generated from the plan)."""
        self.frozen = True

    # --- jobs --------------------------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Models with any request, in order of first request."""
        return list(dict.fromkeys(u.model for u in self._wanted))

    def units(self, model: str) -> list[dict]:
        """The model's requests as job parameters, by revision (step order), split, layer, matrix:
        {"revision", "split", "layer", "matrix", "files": {end or "stats": path}}."""
        units = sorted((u for u in self._wanted if u.model == model),
                       key=lambda u: (revision_key(u.revision), u.split, u.layer, u.matrix))
        out = []
        for u in units:
            wanted = self._wanted[u]
            files = {end: self.activation_path(u, end) for end in ENDS if end in wanted}
            if "stats" in wanted:
                files["stats"] = self.stats_path(u)
            out.append({"revision": u.revision, "split": u.split, "layer": u.layer, "matrix": u.matrix,
                        "files": files})
        return out

    def outputs(self, model: str) -> list[str]:
        """Every file the model's per_model job writes."""
        return [path for unit in self.units(model) for path in unit["files"].values()]

    def splits(self, model: str) -> list[str]:
        """Splits whose token windows the model's job reads."""
        return sorted({u.split for u in self._wanted if u.model == model})


def token_splits(settings: dict) -> list[str]:
    """Splits whose token windows a scale's rules read: evaluation, capture, the sparsification evaluation
    split and the neuron-embedding examples' split (calibration windows are cut separately)."""
    splits = {settings["evaluation"]["split"], settings["capture"]["split"], settings["sparsify"]["evaluation"]["split"]}
    text = settings["neuron_embeddings"]["text"]
    if text["source"] == "split":
        splits.add(text["split"])
    return sorted(splits)
