"""Image-classification data for the SAE experiment (NE §4.2).

Everything downstream takes flat float tensors [N, n_pixels] and int64 labels [N], so MNIST
(784 pixels, paper scale) and sklearn's 8x8 digits (64 pixels, mini/smoke) are interchangeable.
Normalization mirrors the paper's MNIST transform (scale to [0, 1], then subtract one global mean
and divide by one global std), with mean and std measured on the training split.
"""

import numpy as np
import torch


def normalize_images(x_train, x_test, max_value):
    """Scale to [0, 1] then standardize with the train split's global mean/std.

    Returns (x_train, x_test, (mean, std)) as float32 tensors.
    """
    x_train = torch.as_tensor(np.asarray(x_train), dtype=torch.float32) / max_value
    x_test = torch.as_tensor(np.asarray(x_test), dtype=torch.float32) / max_value
    mean, std = x_train.mean().item(), x_train.std().item()
    return (x_train - mean) / std, (x_test - mean) / std, (mean, std)


def load_digits_split(test_size=0.25, seed=0, n_samples=None):
    """sklearn `load_digits` (1797 images of 8x8, values 0..16) as a stratified split.

    n_samples: optionally keep only the first n (smoke scale) before splitting.
    Returns dict(x_train [N, 64], y_train [N], x_test, y_test, image_shape=(8, 8), stats).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    if n_samples is not None:
        X, y = X[:n_samples], y[:n_samples]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    xtr, xte, stats = normalize_images(Xtr, Xte, 16.0)
    return dict(x_train=xtr, y_train=torch.as_tensor(ytr, dtype=torch.int64),
                x_test=xte, y_test=torch.as_tensor(yte, dtype=torch.int64),
                image_shape=(8, 8), stats=stats)


MNIST_ID = "ylecun/mnist"


def raw_digits():
    """sklearn `load_digits` as raw arrays: dict(x [1797, 64] in 0..16, y, image_shape, max_value)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return dict(x=X.astype(np.float32), y=y.astype(np.int64), image_shape=(8, 8), max_value=16.0)


def raw_mnist(dataset=MNIST_ID, local_path=None):
    """MNIST through `datasets` (or a `save_to_disk` copy): dict(x_train [60000, 784] in 0..255, y_train,
    x_test [10000, 784], y_test, image_shape=(28, 28), max_value=255).

    Offline without a cached copy this raises DataError naming the dataset and how to provide it.
    """
    from entangle.data.text import check_splits, open_hf_dataset

    setting = "sae.local_path (or sae.dataset: digits)"
    splits = open_hf_dataset(dataset, local_path=local_path, setting=setting)
    check_splits(splits, ("train", "test"), dataset, setting=setting)

    def arrays(split):
        imgs = np.stack([np.asarray(im, dtype=np.float32).reshape(-1) for im in splits[split]["image"]])
        return imgs, np.asarray(splits[split]["label"], dtype=np.int64)

    x_train, y_train = arrays("train")
    x_test, y_test = arrays("test")
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, image_shape=(28, 28),
                max_value=255.0)


def split_from_arrays(x_train, y_train, x_test, y_test, image_shape, max_value):
    """The dict every SAE function takes, from raw arrays (normalized with the train split's stats)."""
    xtr, xte, stats = normalize_images(x_train, x_test, max_value)
    return dict(x_train=xtr, y_train=torch.as_tensor(np.asarray(y_train), dtype=torch.int64),
                x_test=xte, y_test=torch.as_tensor(np.asarray(y_test), dtype=torch.int64),
                image_shape=tuple(int(s) for s in image_shape), stats=stats)
