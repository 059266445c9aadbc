"""Example windows for feature clusters: the first windows of the scale's split (smoke, mini, real), or one
window per document of a Hugging Face text data set such as OpenWebText (paper), truncated to example_tokens.
`dataset` names the scale's text (`entangle.data.text.dataset_name`), which the split windows are cut from.

The file holds max(examples, reference_examples) windows: the first `examples` are the dataset examples,
the first `reference_examples` the sample each neuron's reference maximum is taken over.
"""

import logging

import numpy as np
from _runner import run

from entangle.embeddings.examples import windows_from_hf, windows_from_split
from entangle.io import save_array, write_json


def main(model: dict, checkpoints: str, split_windows, text: dict, dataset: str, examples: int,
         reference_examples: int, example_tokens: int, windows: str, info: str) -> None:
    n = max(examples, reference_examples)
    meta = {"model": model["name"], "model_id": model.get("hub_id") or model["source"], "revision": model["revision"],
            "example_tokens": example_tokens, "examples_requested": examples,
            "reference_examples_requested": reference_examples}
    if text["source"] == "split":
        w = windows_from_split(np.load(split_windows), n, example_tokens)
        meta.update(dataset=dataset, split=text["split"],
                    how=f"first windows of the {text['split']} split's token windows, truncated to {example_tokens} tokens")
    else:
        from entangle.models.load import load_tokenizer

        tok = load_tokenizer(model["source"], model["revision"])
        w, read, skipped = windows_from_hf(tok, text["dataset"], text["split"], n, example_tokens,
                                           local_path=text.get("local_path"))
        meta.update(dataset=text["dataset"], split=text["split"], documents_read=read, documents_skipped_short=skipped,
                    how=f"one window per document in dataset order: its first {example_tokens} tokens "
                        f"(documents with fewer tokens skipped)")
    meta.update(windows=int(len(w)), examples=int(min(examples, len(w))),
                reference_examples=int(min(reference_examples, len(w))), tokens=int(w.size))
    if len(w) < n:
        logging.warning("only %d windows available (asked for %d)", len(w), n)
    logging.info("%s", meta)
    save_array(windows, w.astype(np.int32))
    write_json(info, meta)


if __name__ == "__main__":
    run(main)
