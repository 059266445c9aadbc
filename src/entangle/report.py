"""What the report notebooks show: each item's figure and table with a caption, and the claims.

Notebooks call `show_item("WD-F2", results)`; everything they display is read from results/<scale>/
(manifest, claims.csv, figures, tables), so a notebook never computes anything.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[2]
PAPERS = {"WD": "Sawmya et al., Wasserstein Distances, Neuronal Entanglement, and Sparsity (ICLR 2025)",
          "NC": "Kong, Ning, Shavit, Input differentiation via negative computation",
          "NE": "Foote, Tackling Polysemanticity with Neuron Embeddings"}


def items(paper: str | None = None) -> dict:
    registry = yaml.safe_load((REPO / "items.yaml").read_text())["items"]
    return {k: v for k, v in registry.items() if paper is None or v["paper"] == paper}


def claims(results: str | Path) -> pd.DataFrame:
    """claims.csv (entangle.claims.COLUMNS): one row per claim and model, empty cells as empty strings."""
    return pd.read_csv(Path(results) / "claims.csv", dtype=str, keep_default_na=False).astype({"claim": int})


def verdict_counts(results: str | Path) -> pd.DataFrame:
    """Claims per paper and verdict (the primary model's rows)."""
    table = claims(results)
    table = table[table["primary"] == "true"]
    return pd.crosstab(table["paper"], table["verdict"]).rename_axis(index="paper", columns=None)


def claim_value(row) -> str:
    """'statistic = value [ci_low, ci_high] (unit, resamples)' of a claims.csv row ('-' if none)."""
    if not row.value:
        return "-"
    interval = f" [{row.ci_low}, {row.ci_high}] (95%, {row.unit}, {row.resamples} resamples)" if row.ci_low else ""
    return f"{row.statistic} = {row.value}{interval}"


def caption(item_id: str, results: str | Path) -> str:
    """Markdown caption: what the item shows, its status, where it came from, and its claims (paper vs ours)."""
    item = items()[item_id]
    manifest = pd.read_csv(Path(results) / "manifest.tsv", sep="\t").set_index("item")
    row = manifest.loc[item_id]
    lines = [f"**{item_id}** ({item['kind']}): {item['what']}.", f"Status at this scale: **{row['status']}**"
             + (f" ({row['reason']})" if isinstance(row["reason"], str) and row["reason"] else "") + "."]
    context = _context(item_id, results)
    if context:
        lines.append("Setting: " + ", ".join(f"{k} = {v}" for k, v in context.items()) + ".")
    table = claims(results)
    for claim in table[table["claim"].isin(item["claims"])].itertuples():
        who = f" ({claim.model})" if claim.model else ""
        lines.append(f"- Claim {claim.claim}{'' if claim.primary == 'true' else ' (further model)'}: {claim.text} "
                     f"Paper: {claim.paper_value}. Ours{who}: {claim_value(claim)} → **{claim.verdict}**"
                     + (f" ({claim.reason})" if claim.reason else "")
                     + (f" Illustrative (subject chosen on the tested statistic); population: {claim.population}."
                        if claim.illustrative == "true" else ""))
    return "\n\n".join(lines)


def _context(item_id: str, results: str | Path) -> dict:
    import json

    for name in (item_id, f"{item_id}a"):
        path = Path(results) / "claims" / f"{name}.json"
        if path.is_file():
            context = json.loads(path.read_text()).get("context", {})
            keep = ("name", "model_id", "models", "revision", "dataset", "split", "tokens", "pairs", "layer", "seed")
            return {k: context[k] for k in keep if k in context}
    return {}


def show_item(item_id: str, results: str | Path) -> None:
    """Display an item's caption, figure(s) and table(s) in a notebook."""
    from IPython.display import Image, Markdown, display

    display(Markdown(f"### {item_id}\n\n" + caption(item_id, results)))
    manifest = pd.read_csv(Path(results) / "manifest.tsv", sep="\t").set_index("item")
    files = manifest.loc[item_id, "files"]
    for f in (files.split(",") if isinstance(files, str) else []):
        path = REPO / f
        if f.endswith(".png") and path.is_file():
            display(Image(filename=str(path), width=900))
        elif f.endswith(".md") and path.is_file():
            text = path.read_text()
            display(Markdown(text if len(text) < 20_000 else text[:20_000] + "\n\n*(table truncated; full CSV beside it)*"))
