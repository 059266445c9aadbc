"""The model's vocabulary as raw token strings by id ("Ġthe" for " the"), a JSON list."""

import logging

from _runner import run
from transformers import AutoTokenizer

from entangle.io import write_json
from entangle.models.load import resolve_local


def main(model: dict, vocabulary: str) -> None:
    if model["trained"]:
        tok = AutoTokenizer.from_pretrained(resolve_local(model["source"], model["revision"]))
    else:
        tok = AutoTokenizer.from_pretrained(model["source"], revision=model["revision"])
    tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
    logging.info("%s: %d tokens", model["name"], len(tokens))
    write_json(vocabulary, [t if t is not None else "" for t in tokens])


if __name__ == "__main__":
    run(main)
