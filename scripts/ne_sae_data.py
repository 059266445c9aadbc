"""The SAE experiment's image data set as raw arrays: sklearn digits (split here) or MNIST (its own split)."""

import logging

import numpy as np
from _runner import run

from entangle.io import atomic_path
from entangle.sae.data import MNIST_ID, raw_digits, raw_mnist


def main(dataset: str, local_path: str | None, seed: int, data: str) -> None:
    if dataset == "digits":
        from sklearn.model_selection import train_test_split

        d = raw_digits()
        x_train, x_test, y_train, y_test = train_test_split(d["x"], d["y"], test_size=0.25, random_state=seed,
                                                            stratify=d["y"])
        d = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, image_shape=d["image_shape"],
                 max_value=d["max_value"])
        source = "sklearn load_digits, stratified 75/25 split"
    elif dataset == "mnist":
        d = raw_mnist(MNIST_ID, local_path)
        source = f"{MNIST_ID} via datasets" + (f" ({local_path})" if local_path else "") + ", official train/test"
    else:
        raise ValueError(f"sae.dataset = {dataset!r}; allowed: digits, mnist")
    logging.info("%s: %d train, %d test images of %s", source, len(d["y_train"]), len(d["y_test"]), d["image_shape"])
    with atomic_path(data) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, x_train=d["x_train"].astype(np.float32), y_train=d["y_train"].astype(np.int64),
                                x_test=d["x_test"].astype(np.float32), y_test=d["y_test"].astype(np.int64),
                                image_shape=np.asarray(d["image_shape"]), max_value=np.float32(d["max_value"]),
                                dataset=np.str_(dataset), source=np.str_(source), split_seed=np.int64(seed))


if __name__ == "__main__":
    run(main)
