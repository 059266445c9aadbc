# Models: the zoo trained by the workflow (smoke, mini) or hub models fetched once (paper).
# Either way the rule's output is results/<scale>/models/<model>/ with a card.json.

if TRAINED:

    rule train_model:
        """Train one zoo model, saving checkpoints on a Pythia-like schedule (step0, 1, 2, 4, ..., then regular)."""
        input:
            train=f"{R}/data/text/train.txt",
            validation=f"{R}/data/text/validation.txt",
            tokenizer=f"{R}/data/tokenizer",
        output:
            out=directory(f"{R}/models/{{model}}"),
        wildcard_constraints:
            model=_alternatives(TRAINED),
        params:
            text_dir=text_dir,
            model=model_spec,
            training=S.get("training"),
            seed=S["seed"],
        threads: S["threads"]
        log:
            log("train_model/{model}"),
        benchmark:
            bench("train_model/{model}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/train_model.py"


if PRETRAINED:

    rule fetch_model:
        """Download (or find in the cache) every revision of a hub model the workflow uses."""
        output:
            out=directory(f"{R}/models/{{model}}"),
        wildcard_constraints:
            model=_alternatives(PRETRAINED),
        params:
            model=model_spec,
            hub=lambda wc: f"{MODELS[wc.model].hub_id} @ {', '.join(MODELS[wc.model].revisions)}",
        message:
            "fetch {params.hub}"
        log:
            log("fetch_model/{model}"),
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/fetch_model.py"
