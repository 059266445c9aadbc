"""Train the byte-level BPE tokenizer of the model zoo on the training split."""

from _runner import run

from entangle.data.tokenizer import train_bpe
from entangle.io import atomic_path


def main(train: str, vocab_size: int, tokenizer: str) -> None:
    with open(train, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    with atomic_path(tokenizer, directory=True) as tmp:
        train_bpe(lines, vocab_size).save_pretrained(tmp)


if __name__ == "__main__":
    run(main)
