"""Cross-checks of a scale's settings that the schema cannot express; each failure names the key and the fix.

`check_scale(scale)` runs them all when the workflow is parsed, so bad settings stop it before any job runs
(what can be known without loading a model; hub models' widths are checked by their jobs).
"""

from __future__ import annotations

from entangle.config import ConfigError, Scale
from entangle.sparsify.sparsity import Sparsity


def check_scale(scale: Scale) -> None:
    """Raise ConfigError for the first inconsistent setting of the scale's analysis blocks."""
    check_zscores(scale)
    check_sparsify(scale)
    check_partial(scale)
    check_disentangle(scale)
    check_neuron_embeddings(scale)


def check_sparsify(scale: Scale) -> None:
    from entangle.workflow.sparsify import canonical_sparsity

    sp, models, where = scale.settings["sparsify"], scale.models, f"scales.{scale.name}.sparsify"
    sparsities = [canonical_sparsity(v, f"sparsities[{i}]", scale.name) for i, v in enumerate(sp["sparsities"])]
    unstructured = [s for s in sparsities if ":" not in s]
    experts, flop = sp["experts"], sp["flop_matched"]
    experts_sparsity = canonical_sparsity(experts["sparsity"], "experts.sparsity", scale.name)
    used = {m: f"{where}.models" for m in sp["models"]}
    used.setdefault(experts["model"], f"{where}.experts.model")
    used.update({m: f"{where}.flop_matched.models" for m in flop["models"] if m not in used})
    for m, key in used.items():
        if m not in models:
            raise ConfigError(f"config {key}: {m!r} is not a model of this scale; defined: {', '.join(models)}")
    if "sparse_expansion" not in sp["methods"] or "sparsegpt" not in sp["methods"]:
        raise ConfigError(f"config {where}.methods must include sparsegpt and sparse_expansion "
                          "(WD-FA3 and WD-V1 compare them)")
    if experts_sparsity not in sparsities or ":" in experts_sparsity:
        raise ConfigError(f"config {where}.experts.sparsity = {experts_sparsity!r} must be one of the "
                          f"unstructured sparsities {unstructured} (WD-FA3 compares with SparseGPT there)")
    k = sp["expansion"]["num_clusters"]
    for m in used:
        ks = [k] + (experts["ks"] if m == experts["model"] else [])
        ks += flop["ks"] if m in flop["models"] else []
        tokens = sp["calibration"]["windows"] * models[m].context
        if max(ks) > tokens:
            raise ConfigError(f"config {where}: K={max(ks)} experts for model {m!r} is larger than its "
                              f"{tokens} calibration tokens (calibration.windows x context); "
                              "use more windows or fewer experts")
        size = models[m].size
        if not size:
            continue  # hub model: widths are checked by the job before any work
        widths = {"d_model": size["d_model"], "d_ff": size["d_ff"]}
        for s in sparsities:
            parsed = Sparsity.parse(s)
            bad = {key: v for key, v in widths.items() if parsed.is_nm and v % parsed.m}
            if bad:
                raise ConfigError(f"config {where}.sparsities: N:M {s} needs FFN input widths divisible by "
                                  f"M={parsed.m}; model {m!r} has {bad}")
        pf = sp["expansion"]["pca_factor"]
        if pf is not None and pf > min(widths.values()):
            raise ConfigError(f"config {where}.expansion.pca_factor = {pf} leaves no PCA component for model "
                              f"{m!r} (widths {widths}); use at most {min(widths.values())}")


def check_partial(scale: Scale) -> None:
    s, where = scale.settings, f"scales.{scale.name}.partial"
    pt, sp = s["partial"], s["sparsify"]
    if pt["model"] not in scale.models:
        raise ConfigError(f"config {where}.model: {pt['model']!r} is not a model of this scale; "
                          f"use one of: {', '.join(scale.models)}")
    if "wd" not in pt["selections"]:
        raise ConfigError(f"config {where}.selections = {pt['selections']} must include wd (WD-F3 compares "
                          "every other selection with it); add wd")
    for i, value in enumerate(pt["sparsities"]):
        if not 0 < float(value) < 1:
            raise ConfigError(f"config {where}.sparsities[{i}] = {value!r}: a per-row sparsity must be in (0, 1), "
                              "e.g. '0.9'")
    if pt["headline"] not in pt["sparsities"]:
        raise ConfigError(f"config {where}.headline = {pt['headline']!r} must be one of {where}.sparsities "
                          f"{pt['sparsities']} (claims 6 and 14 compare there); add it to sparsities or pick one "
                          "of them")
    if pt["expand"]:
        k = s["disentangle"]["num_clusters"]
        tokens = sp["calibration"]["windows"] * scale.models[pt["model"]].context
        if k > tokens:
            raise ConfigError(f"config scales.{scale.name}.disentangle.num_clusters = {k} experts is larger than "
                              f"the {tokens} calibration tokens of {pt['model']!r} (sparsify.calibration.windows x "
                              "context); use more windows or fewer experts")
        size, pf = scale.models[pt["model"]].size, sp["expansion"]["pca_factor"]
        if size and pf is not None and pf > min(size["d_model"], size["d_ff"]):
            raise ConfigError(f"config scales.{scale.name}.sparsify.expansion.pca_factor = {pf} leaves no PCA "
                              f"component for {pt['model']!r} (d_model {size['d_model']}, d_ff {size['d_ff']}); "
                              f"use at most {min(size['d_model'], size['d_ff'])} or set {where}.expand: false")


def disentangle_layers(scale: Scale) -> list[int]:
    """The GELU model's layers whose clusters WD-F8 pools (`disentangle.layers`: all or a list)."""
    d = scale.settings["disentangle"]
    return list(range(scale.role("gelu").n_layers)) if d["layers"] == "all" else list(d["layers"])


def check_disentangle(scale: Scale) -> None:
    s, name = scale.settings, scale.name
    d = s["disentangle"]
    if d["row_sparsity"] not in d["sweep"]:
        raise ConfigError(f"config scales.{name}.disentangle.row_sparsity = {d['row_sparsity']} must be one "
                          f"of disentangle.sweep {d['sweep']}")
    layer = s["wasserstein"]["layer"]
    gelu, swiglu = scale.role("gelu"), scale.role("swiglu")
    for spec in (gelu, swiglu, *([scale.gated()] if scale.gated() is not None else [])):
        bad = [l for l in {layer, *(disentangle_layers(scale) if spec.name == gelu.name else [])}
               if l >= spec.n_layers]
        if bad:
            raise ConfigError(f"config scales.{name}: layer(s) {bad} (wasserstein.layer / disentangle.layers) "
                              f"do not exist in model {spec.name!r} ({spec.n_layers} layers)")


def zscore_layers(scale: Scale) -> list[int]:
    """Layers of NC-F2: every layer of the GELU model but `zscores.exclude_layers`."""
    z = scale.settings["zscores"]
    return [l for l in range(scale.role("gelu").n_layers) if l not in z["exclude_layers"]]


def check_zscores(scale: Scale) -> None:
    from entangle.pairs.zscores import ZScoreError, check_layers, check_matrix, check_neurons

    z, spec = scale.settings["zscores"], scale.role("gelu")
    try:
        check_matrix(spec.family, z["matrix"])
        check_layers(z["exclude_layers"], spec.n_layers, what="zscores.exclude_layers: layer")
        check_layers([z["layer"]], spec.n_layers, what="zscores.layer =")
        if spec.trained:  # hub models: checked against the captured width when the job runs
            explicit = [z["neuron"]] if isinstance(z["neuron"], int) else []
            explicit += z["table_neurons"] if isinstance(z["table_neurons"], list) else []
            check_neurons(explicit, spec.size["d_ff"], layer=z["layer"])
    except ZScoreError as err:
        raise ConfigError(f"config scales.{scale.name}.zscores, model {spec.name!r}: {err}") from None
    if not zscore_layers(scale):
        raise ConfigError(f"config scales.{scale.name}.zscores.exclude_layers leaves no layer of {spec.name!r} "
                          f"(layers 0..{spec.n_layers - 1})")


def neuron_embedding_layers(scale: Scale) -> list[int]:
    """Layers of the GPT-2 role model whose feature clusters NE-T1/F2-F4 use (`neuron_embeddings.layers`)."""
    ne = scale.settings["neuron_embeddings"]
    return list(range(scale.role("gpt2").n_layers)) if ne["layers"] == "all" else list(ne["layers"])


def check_neuron_embeddings(scale: Scale) -> None:
    ne, spec = scale.settings["neuron_embeddings"], scale.role("gpt2")
    if max(neuron_embedding_layers(scale)) >= spec.n_layers:
        raise ConfigError(f"neuron_embeddings.layers = {ne['layers']}: {spec.name} has layers 0..{spec.n_layers - 1}")
