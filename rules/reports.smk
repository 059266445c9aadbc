# Claims verdicts, papermill reports, and the Snakemake report.


rule judge_claims:
    """Judge every claim of claims.yaml against the values the built items measured."""
    input:
        [f for f in built_item_files() if f.endswith(".json")],
        spec="claims.yaml",
    output:
        table=f"{R}/claims.csv",
        markdown=f"{R}/claims.md",
    params:
        claims_dir=lambda w, output: str(Path(output.table).parent / "claims"),
        scale=SCALE.name,
        llm=SCALE.settings["roles"].get("llm", ""),
    log:
        log("claims"),
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/claims.py"


from snakemake.settings.types import DeploymentMethod  # noqa: E402

# The interpreter for papermill: the rule's conda env under --sdm conda, else the one running Snakemake.
PYTHON = "python" if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method else sys.executable


rule report_notebook:
    """Execute a report notebook with papermill (parameters: results dir, scale) and render it to HTML."""
    input:
        notebook_inputs,
        notebook="notebooks/{notebook}.ipynb",
        claims=rules.judge_claims.output.table,
        manifest=rules.manifest.output.manifest,
    output:
        executed=f"{R}/reports/{{notebook}}.ipynb",
        html=f"{R}/reports/{{notebook}}.html",
    wildcard_constraints:
        notebook="|".join(NOTEBOOKS),
    params:
        python=PYTHON,
        results=lambda w, input: str(Path(input.claims).parent),
        scale=SCALE.name,
        outdir=lambda w, output: str(Path(output.html).parent),
    log:
        log("reports/{notebook}"),
    localrule: True  # reads results only, seconds per notebook: on a cluster it runs on the submit host
    conda:
        "../envs/report.yaml"
    shell:
        "{params.python} -m papermill {input.notebook} {output.executed} -k python3 --cwd . "
        "-p results {params.results} -p scale {params.scale} > {log} 2>&1 && "
        "{params.python} -m nbconvert --to html --no-input --output-dir {params.outdir} {output.executed} >> {log} 2>&1"


from entangle.report.scales import claims_files  # noqa: E402


rule scales:
    """Every scale's claims side by side (results/scales.{csv,md,html}): this scale's claims.csv and every
    other results/<scale>/claims.csv present, so a second scale's run adds its column without any edit.
    After this scale's index report, so that the page links every scale's index that exists."""
    input:
        claims=claims_files(Path(R).parent, current=f"{R}/claims.csv"),
        index=f"{R}/reports/index.html",  # report_notebook
    output:
        table=f"{Path(R).parent}/scales.csv",
        markdown=f"{Path(R).parent}/scales.md",
        page=f"{Path(R).parent}/scales.html",
    log:
        log("scales"),
    localrule: True
    conda:
        "../envs/report.yaml"
    script:
        "../scripts/scales.py"


rule reports:
    """Every report notebook, executed, with an HTML copy, the claims table and the cross-scale claims page
    (also part of `figures`)."""
    input:
        REPORTS,
        rules.scales.output.page,
    localrule: True
