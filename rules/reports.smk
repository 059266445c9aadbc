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
        claims=f"{R}/claims.csv",
        manifest=f"{R}/manifest.tsv",
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


rule reports:
    """Every report notebook, executed, with an HTML copy, and the claims table (also part of `figures`)."""
    input:
        REPORTS,
    localrule: True
