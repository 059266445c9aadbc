# One target rule per paper item (items.yaml) and the manifest of all 31 items.

# The target rules, named by each item's `target` in items.yaml (wd_fig1, wd_fig2, ..., nc_fig4, ..., ne_fig5):
# a built item's target asks for its files, which the rule named by its `rule` writes; any other item's fails
# with its reason.
for _id, _item in ITEMS.items():
    _status = item_status(_id)
    if _status == "built":

        rule:
            name:
                _item["target"]
            input:
                [f"{R}/{f}" for f in _item["outputs"]],
            localrule: True

    else:

        rule:
            name:
                _item["target"]
            input:
                item_files(_id),
            params:
                message=f"{_id} is {_status} at scale {SCALE.name}: {item_reason(_id)}",
            localrule: True
            run:
                raise WorkflowError(params.message)


rule manifest:
    """results/<scale>/manifest.tsv: every item of items.yaml with status, target, files and rule."""
    input:
        built_item_files(),
        registry="items.yaml",
    output:
        manifest=f"{R}/manifest.tsv",
    params:
        entries={i: item_entry(i) for i in ITEMS},
    log:
        log("manifest"),
    localrule: True
    conda:
        "../envs/analysis.yaml"
    script:
        "../scripts/manifest.py"
