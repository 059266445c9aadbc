"""Workflow logic the rules call, knowing nothing of Snakemake: the item registry, the capture plan and
its job groups, sparsification run lists, and the cross-checks a config schema cannot express.

Everything here takes the `Scale` (or what it needs of it) explicitly, so it is unit-tested without a DAG;
rules/common.smk binds it to the selected scale.
"""
