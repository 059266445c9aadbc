"""The model's vocabulary as raw token strings by id ("Ġthe" for " the"), a JSON list."""

import logging

from _runner import run

from entangle.io import write_json
from entangle.models.load import load_tokenizer


def main(model: dict, vocabulary: str) -> None:
    tok = load_tokenizer(model["source"], model["revision"])
    tokens = tok.convert_ids_to_tokens(list(range(len(tok))))
    logging.info("%s: %d tokens", model["name"], len(tokens))
    write_json(vocabulary, [t if t is not None else "" for t in tokens])


if __name__ == "__main__":
    run(main)
