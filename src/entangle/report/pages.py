"""The report pages as HTML fragments: the index (verdicts at a glance, every claim, every item) and the
paper reports (contents, then one section per item: claims, settings, figure, summary table).

Everything is read from results/<scale>/ (claims.csv, manifest.tsv, claims/*.json, figures, tables) and
items.yaml; nothing is computed. Pages live in results/<scale>/reports/, so links to files are relative to it.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import os
from pathlib import Path

import pandas as pd
import yaml

from entangle.report.claimsfile import PAPERS, blank, primary_rows, read_claims, verdict_counts
from entangle.report.claimview import claims_table
from entangle.report.html import badge, esc, fmt, frame_table, link, scroll, table
from entangle.report.summary import summarize

REPO = Path(__file__).resolve().parents[3]
TITLES = {"WD": "Sawmya et al., Wasserstein Distances, Neuronal Entanglement, and Sparsity (ICLR 2025)",
          "NC": "Kong, Ning, Shavit, Input differentiation via negative computation",
          "NE": "Foote, Tackling Polysemanticity with Neuron Embeddings"}
CONTEXT_KEYS = ("name", "model_id", "models", "revision", "dataset", "split", "tokens", "pairs", "layer", "seed")
SETTINGS_ORDER = ("model", "models", "model_id", "revision", "family", "dataset", "split", "tokens", "pairs", "layer",
                  "matrix", "seed")
CROSS_SCALE = "../../scales.html"  # results/scales.html, from results/<scale>/reports/


@functools.lru_cache(maxsize=4)
def _registry(path: str, mtime_ns: int) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~20x faster
    return yaml.load(Path(path).read_text(), Loader=loader)["items"]


def items(paper: str | None = None) -> dict:
    """items.yaml's items (of one paper), in registry order (parsed once per version of the file)."""
    path = REPO / "items.yaml"
    registry = _registry(str(path), path.stat().st_mtime_ns)
    return {k: v for k, v in registry.items() if paper is None or v["paper"] == paper}


def manifest(results: str | Path) -> pd.DataFrame:
    """results/<scale>/manifest.tsv, indexed by item, every cell text ("" where empty)."""
    path = Path(results) / "manifest.tsv"
    stat = path.stat()
    return _manifest(str(path.resolve()), stat.st_mtime_ns, stat.st_size).copy()


@functools.lru_cache(maxsize=8)
def _manifest(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return frame.map(blank).set_index("item")


def _files(results: str | Path, item_id: str) -> list[Path]:
    table = manifest(results)
    if item_id not in table.index:
        return []
    return [REPO / f if not Path(f).is_absolute() else Path(f) for f in table.loc[item_id, "files"].split(",") if f]


def _rel(path: Path, results: str | Path) -> str:
    """A file's link from results/<scale>/reports/."""
    return os.path.relpath(Path(path).resolve(), (Path(results) / "reports").resolve())


def _status(table_: pd.DataFrame, item_id: str) -> tuple[str, str]:
    """(status, reason) of an item in manifest.tsv ('not yet built' if it has no row)."""
    if item_id not in table_.index:
        return "not yet built", ""
    return table_.loc[item_id, "status"], table_.loc[item_id, "reason"]


def _primary_by_claim(results: str | Path) -> pd.DataFrame:
    return primary_rows(read_claims(Path(results) / "claims.csv")).set_index("claim")


def paper_link(item_id: str) -> str:
    """Link from the index to an item's section in its paper report."""
    return link(f"{item_id.split('-')[0]}.html#{item_id}", item_id)


# ---------------------------------------------------------------- index


def index_header(results: str | Path, scale: str) -> str:
    claims = read_claims(Path(results) / "claims.csv")
    reports = " · ".join(link(f"{p}.html", f"{p} report") for p in PAPERS)
    head = (f'<p>Scale <b>{html.escape(scale)}</b> · {claims["claim"].nunique()} claims · reports: {reports} · '
            f'{link(CROSS_SCALE, "every scale side by side")} (results/scales.html)</p>')
    return head + "<h2>Verdicts per paper</h2>" + counts_table(claims) + (
        '<p class="small">Counts use each claim\'s primary model (named under its value: the model the item '
        "names, or the scale's pretrained LLM for the claims <code>claims.yaml</code> marks "
        "<code>primary: llm</code>). "
        "<i>Inconclusive</i>: the 95% interval of our value straddles the criterion's threshold. "
        "<i>Illustrative</i> claims (a subject chosen on the statistic under test) show existence only: shown / not "
        "shown / inconclusive (illustrative), counted apart from the other verdicts. "
        "Criteria are in <code>claims.yaml</code>, fixed before our numbers were seen.</p>")


def counts_table(claims: pd.DataFrame) -> str:
    counts = verdict_counts(claims)
    header = ["paper"] + [badge(v) for v in counts.columns] + ["claims"]
    rows = []
    for paper, row in counts.iterrows():
        name = f"<b>{paper}</b>" if paper == "total" else link(f"{paper}.html", paper)
        rows.append([name] + [str(int(n)) if n else '<span class="small">0</span>' for n in row]
                    + [str(int(row.sum()))])
    return table(header, rows, ["txt"] + ["num"] * (len(counts.columns) + 1), "counts")


def index_claims(results: str | Path) -> str:
    """Per paper, every claim: id, sentence, the paper's number, ours with interval, verdict, item link."""
    claims = read_claims(Path(results) / "claims.csv")
    out = ["<h2>Every claim</h2>"]
    papers = [p for p in PAPERS if p in set(claims["paper"])] + sorted(set(claims["paper"]) - set(PAPERS))
    for paper in papers:
        out.append(f'<h3 id="claims-{paper}">{paper}: {html.escape(TITLES.get(paper, paper))}</h3>')
        out.append(scroll(claims_table(claims[claims["paper"] == paper], item_link=paper_link, anchors=True)))
    return "".join(out)


def index_items(results: str | Path) -> str:
    """Per paper, every item of items.yaml: link to its section, kind, what, status at this scale, claims."""
    table_, primary = manifest(results), _primary_by_claim(results)
    out = ["<h2>Items</h2>", '<p class="small">Every figure and table of the papers, with its status at this '
           "scale (<code>manifest.tsv</code>) and the verdicts of the claims it supports.</p>"]
    for paper in PAPERS:
        rows = []
        for item_id, item in items(paper).items():
            status, reason = _status(table_, item_id)
            rows.append([paper_link(item_id), esc(item["kind"]), esc(item["what"]),
                         badge(status, title=reason) + (f'<div class="small">{esc(reason)}</div>' if reason else ""),
                         _claim_badges(item.get("claims", []), primary)])
        out.append(f"<h3>{paper}</h3>")
        out.append(scroll(table(["item", "kind", "what", "status", "claims"], rows, classes="claims",
                                col_classes=["nowrap", "", "what", "verdict", ""])))
    return "".join(out)


def _claim_badges(ids, primary: pd.DataFrame) -> str:
    """'#11 <badge>' per claim id (linked to the claim's row of the index)."""
    parts = []
    for c in ids:
        verdict = primary.loc[c, "verdict"] if c in primary.index else ""
        parts.append(f'<span style="white-space:nowrap">{link(f"index.html#claim-{c}", f"#{c}")} {badge(verdict)}</span>')
    return " ".join(parts)


# ---------------------------------------------------------------- paper reports


def paper_header(paper: str, results: str | Path, scale: str) -> str:
    """Scale, the paper's verdict counts, and a table of contents of its items with their claims' verdicts."""
    claims = read_claims(Path(results) / "claims.csv")
    counts = verdict_counts(claims[claims["paper"] == paper])
    line = " ".join(f'{badge(v, label=f"{int(counts.loc[paper, v])} {v}")}' for v in counts.columns
                    if paper in counts.index and counts.loc[paper, v])
    table_, primary = manifest(results), _primary_by_claim(results)
    entries = []
    for item_id, item in items(paper).items():
        status, _ = _status(table_, item_id)
        mark = "" if status == "built" else " " + badge(status)
        entries.append(f'<li>{link("#" + item_id, item_id)} <span class="small">{esc(item["kind"])}: '
                       f'{esc(_short(item["what"]))}</span>{mark} {_claim_badges(item.get("claims", []), primary)}</li>')
    return (f'<p id="top">Scale <b>{html.escape(scale)}</b> · {link("index.html", "index: every claim")} · '
            f'{link(CROSS_SCALE, "every scale side by side")}</p>'
            f'<p class="counts">Claims judged on this paper\'s items: {line}</p>'
            f'<nav class="toc"><h3>Contents</h3><ol>{"".join(entries)}</ol></nav>')


def _short(text: str, n: int = 90) -> str:
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + " …"


def _context(item_id: str, results: str | Path) -> dict:
    """The settings an item's claims JSON records (model, revision, split, tokens, ...)."""
    for path in sorted((Path(results) / "claims").glob(f"{item_id}*.json")):
        if path.stem == item_id or path.stem[len(item_id):] in ("a", "b"):
            context = json.loads(path.read_text()).get("context", {})
            return {("model" if k == "name" else k): context[k] for k in CONTEXT_KEYS
                    if k in context and not isinstance(context[k], dict)}  # a nested record is no setting
    return {}


def _setting(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value)
    return fmt(value)


def _settings_line(settings: dict, label: str = "Settings") -> str:
    if not settings:
        return ""
    parts = []
    rank = {k: i for i, k in enumerate(SETTINGS_ORDER)}
    for key, value in sorted(settings.items(), key=lambda kv: rank.get(kv[0], len(rank))):
        text = _setting(value)
        if not text:
            continue
        shown = text if len(text) <= 90 else text[:89] + "…"
        parts.append(f'{html.escape(str(key))} = <span title="{html.escape(text)}">{html.escape(shown)}</span>')
    return f'<p class="settings"><b>{html.escape(label)}</b> ' + " · ".join(parts) + "</p>" if parts else ""


def _figure(path: Path, results: str | Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    pdf = path.with_suffix(".pdf")
    links = [link(_rel(path, results), path.name)] + ([link(_rel(pdf, results), pdf.name)] if pdf.is_file() else [])
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(path.stem)}">'
            f'<figcaption>{" · ".join(links)}</figcaption></figure>')


def _summary_tables(path: Path, results: str | Path, settings: dict, first: bool) -> tuple[list[str], dict]:
    """HTML of a table's summaries (each with what it shows and links to the full CSV and Markdown), and the
    table's constant columns that the item's settings do not already say. The first table's constant columns
    join `settings` (only those it contradicts are returned); a later table's come back whole."""
    frame = pd.read_csv(path)
    const, summaries = summarize(path.stem, frame)
    extra = {k: v for k, v in const.items() if (k in settings or not first) and _setting(settings.get(k)) != _setting(v)}
    if first:
        for key, value in const.items():
            settings.setdefault(key, value)
    md = path.with_suffix(".md")
    full = (f'full table: {link(_rel(path, results), path.name)} ({len(frame)} rows'
            + (f", {link(_rel(md, results), md.name)}" if md.is_file() else "") + ")")
    out = []
    for s in summaries:
        note = f"{path.stem}: {s.note}; {full}."
        out.append(f'<p class="small">{note}</p>' + scroll(frame_table(s.frame, gap_before=s.gap_before)))
    return out, extra


def item_section(item_id: str, results: str | Path) -> str:
    """One item: heading (anchor = the item id), what it shows, status, the claims it supports (paper vs ours,
    interval, verdict), its settings in one line, its figure(s), and summary tables of <= summary.SUMMARY_ROWS rows."""
    item = items()[item_id]
    status, reason = _status(manifest(results), item_id)
    head = (f'<h2 id="{html.escape(item_id)}">{html.escape(item_id)} <span class="small">{esc(item["kind"])}</span> '
            f'{badge(status)}</h2><p>{esc(item["what"])}.</p>')
    if reason:
        head += f'<p class="small">{esc(reason)}</p>'
    claims = read_claims(Path(results) / "claims.csv")
    mine = claims[claims["claim"].isin(item.get("claims", []))]
    body = [scroll(claims_table(mine, item_link=_judged_on(item_id), item_header="judged on")) if len(mine) else ""]
    files = _files(results, item_id)
    settings = _context(item_id, results)
    tables, figures = [], []
    for path in files:
        if path.suffix == ".csv" and path.is_file():
            shown, extra = _summary_tables(path, results, settings, first=not tables)
            if extra and shown:
                shown[0] = _settings_line(extra, f"{path.stem}, all rows") + shown[0]
            tables += shown
        elif path.suffix == ".png" and path.is_file():
            figures.append(_figure(path, results))
    body += [_settings_line(settings), *figures, *tables]
    body.append(f'<p class="small">{link("#top", "↑ contents")}</p>')
    return f'<section class="item" id="section-{html.escape(item_id)}">{head}{"".join(body)}</section>'


def _judged_on(item_id: str):
    """Link for a claim's judging item: none when it is this item, else to that item's section."""
    def cell(other: str) -> str:
        return '<span class="small">here</span>' if other == item_id else paper_link(other)
    return cell

