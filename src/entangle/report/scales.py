"""Every scale's claims side by side: results/scales.{csv,md,html} from each results/<scale>/claims.csv present.

One row per claim, one column per scale that has a claims.csv (smoke, mini, real, paper, then any other
scale name in alphabetical order); each cell holds that scale's verdict and value with its interval (the
primary model's row; further models' rows below it). The tidy CSV has one row per claim, scale and model.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from entangle.io import write_table, write_text
from entangle.report.claimsfile import OPTIONAL, PAPERS, VERDICTS, read_claims
from entangle.report.claimview import interval_note, model_line, value_cell, value_text
from entangle.report.html import badge, esc, link, page, scroll, table

SCALE_ORDER = ("smoke", "mini", "real", "paper")
TIDY = ("claim", "paper", "item", "text", "scale", "model", "primary", "verdict", "value", "ci_low", "ci_high",
        "unit", "resamples", "illustrative", "reason")


def order_scales(names) -> list[str]:
    """Scale names in the order smoke, mini, real, paper, then others alphabetically."""
    names = set(names)
    return [s for s in SCALE_ORDER if s in names] + sorted(names - set(SCALE_ORDER))


def claims_files(root: str | Path = "results", current: str | Path | None = None) -> list[str]:
    """results/<scale>/claims.csv of every scale present under `root`, plus `current` (the file this run
    builds, present or not), in scale order."""
    found = {p.parent.name: str(p) for p in sorted(Path(root).glob("*/claims.csv"))}
    if current is not None:
        found[Path(current).parent.name] = str(current)
    return [found[s] for s in order_scales(found)]


def collect(paths) -> pd.DataFrame:
    """Every row of every claims.csv, its scale taken from the directory (results/<scale>/claims.csv)."""
    frames = []
    for path in paths:
        frame = read_claims(path)
        frame["scale"] = Path(path).parent.name
        frames.append(frame)
    if not frames:
        raise ValueError("no claims.csv given: build one with `snakemake claims --config scale=<scale>`")
    long = pd.concat(frames, ignore_index=True)
    rank = {s: i for i, s in enumerate(order_scales(long["scale"]))}
    long["_s"] = long["scale"].map(rank)
    long = long.sort_values(["claim", "_s", "primary"], ascending=[True, True, False], kind="stable")
    return long.drop(columns="_s").reset_index(drop=True)


def tidy(long: pd.DataFrame) -> pd.DataFrame:
    """One row per claim, scale and model (the CSV)."""
    out = long[list(TIDY)].copy()
    out["primary"] = out["primary"].map({True: "true", False: "false"})
    out["illustrative"] = out["illustrative"].map({True: "true", False: "false"})
    return out


def _claim_info(long: pd.DataFrame) -> pd.DataFrame:
    """Per claim: paper, item and text as the last scale (in scale order) that has it states them."""
    return long.drop_duplicates("claim", keep="last").set_index("claim")[["paper", "item", "text"]]


def _cell(rows: pd.DataFrame) -> tuple[str, str]:
    """(HTML, Markdown) of one claim at one scale: primary verdict, value and model, then further models."""
    if rows.empty:
        return "", ""
    primary, others = rows[rows["primary"]], rows[~rows["primary"]]
    first = primary.iloc[0] if len(primary) else rows.iloc[0]
    others = others if len(primary) else rows.iloc[1:]
    model = first["model"]
    cell = (badge(first["verdict"], title=first["reason"] or interval_note(first)) + " "
            + value_cell(first, compact=True) + (f' <span class="small">({esc(model)})</span>' if model else "")
            + "".join(model_line(r) for _, r in others.iterrows()))
    md = " ".join(p for p in (f"**{first['verdict']}**", value_text(first), f"({model})" if model else "") if p)
    md += "".join(f"<br>{r['model']}: {r['verdict']} {value_text(r)}".rstrip() for _, r in others.iterrows())
    return cell, md


def counts(long: pd.DataFrame) -> pd.DataFrame:
    """Primary rows per scale and verdict."""
    primary = long[long["primary"]].drop_duplicates(["scale", "claim"])
    verdicts = [v for v in VERDICTS if v in set(primary["verdict"]) or v not in OPTIONAL]
    verdicts += sorted(set(primary["verdict"]) - set(VERDICTS))
    table_ = pd.crosstab(primary["scale"], primary["verdict"]).reindex(columns=verdicts, fill_value=0)
    return table_.reindex(order_scales(primary["scale"])).fillna(0).astype(int)


def render(long: pd.DataFrame, root: str | Path = "results") -> tuple[str, str]:
    """(HTML page, Markdown) of the claims x scales table, with verdict counts per scale on top."""
    scales = order_scales(long["scale"])
    info = _claim_info(long)
    tally = counts(long)

    def scale_head(scale: str) -> str:
        index = Path(root) / scale / "reports" / "index.html"
        return link(f"{scale}/reports/index.html", scale) if index.is_file() else html.escape(scale)

    count_rows = [[scale_head(s)] + [str(int(tally.loc[s, v])) for v in tally.columns] for s in scales]
    body = ["<h1>Claims at every scale</h1>",
            f"<p>Each cell: the verdict and our value with its 95% interval at that scale (the primary model, named "
            f"in brackets; further models below it). Illustrative claims (a subject chosen on the statistic under "
            f"test) show existence only and are counted apart: shown / not shown / inconclusive (illustrative). "
            f"Scales with results: {', '.join(scales)}. Built by "
            f"<code>snakemake scales</code> from every <code>results/&lt;scale&gt;/claims.csv</code> present; "
            f"criteria in <code>claims.yaml</code> are the same at every scale.</p>",
            "<h2>Verdicts per scale</h2>",
            table(["scale"] + [badge(v) for v in tally.columns], count_rows,
                  ["txt"] + ["num"] * len(tally.columns), "counts")]
    md = ["# Claims at every scale", "",
          "Verdict and value [95% interval] per claim and scale (primary model, in brackets; further models after a "
          "line break). Illustrative claims show existence only and are counted apart. "
          "Built by `snakemake scales` from every `results/<scale>/claims.csv` present.", "",
          "| scale | " + " | ".join(tally.columns) + " |", "|---|" + "---:|" * len(tally.columns)]
    md += [f"| {s} | " + " | ".join(str(int(tally.loc[s, v])) for v in tally.columns) + " |" for s in scales]
    papers = [p for p in PAPERS if p in set(info["paper"])] + sorted(set(info["paper"]) - set(PAPERS))
    for paper in papers:
        ids = info.index[info["paper"] == paper]
        rows, md_rows = [], []
        for claim in ids:
            cells = [_cell(long[(long["claim"] == claim) & (long["scale"] == s)]) for s in scales]
            rows.append([str(claim), f'<div>{esc(info.loc[claim, "text"])}</div>', esc(info.loc[claim, "item"])]
                        + [c[0] for c in cells])
            text = info.loc[claim, "text"].replace("|", "\\|")
            md_rows.append(f"| {claim} | {text} | {info.loc[claim, 'item']} | "
                           + " | ".join(c[1].replace("|", "\\|") for c in cells) + " |")
        body += [f"<h2>{html.escape(paper)}</h2>",
                 scroll(table(["#", "claim", "item"] + [scale_head(s) for s in scales], rows,
                              ["num", "txt", "txt"] + ["txt"] * len(scales), "claims",
                              col_classes=["", "claim", "nowrap"] + [""] * len(scales)))]
        md += ["", f"## {paper}", "", "| # | claim | item | " + " | ".join(scales) + " |",
               "|---:|---|---|" + "---|" * len(scales), *md_rows]
    return page("Claims at every scale", "\n".join(body)), "\n".join(md) + "\n"


def write(claims: list, table_path: str | Path, markdown_path: str | Path, page_path: str | Path) -> pd.DataFrame:
    """Read every claims.csv in `claims`, write the tidy CSV, the Markdown and the HTML page; return the long table."""
    long = collect(claims)
    write_table(tidy(long), table_path)
    html_text, md_text = render(long, Path(page_path).parent)
    write_text(markdown_path, md_text)
    write_text(page_path, html_text)
    return long
