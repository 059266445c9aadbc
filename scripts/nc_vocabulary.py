"""The model's vocabulary as raw token strings by id ("Ġthe" for " the"), a JSON list."""

import logging

from _runner import run

from entangle.data.tokenizer import vocabulary as token_strings
from entangle.io import write_json
from entangle.models.load import load_tokenizer


def main(model: dict, vocabulary: str) -> None:
    tok = load_tokenizer(model["source"], model["revision"])
    tokens = token_strings(tok)
    logging.info("%s: %d tokens", model["name"], len(tokens))
    write_json(vocabulary, tokens)


if __name__ == "__main__":
    run(main)
