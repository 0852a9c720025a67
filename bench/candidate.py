"""A trained digit model measured on validation only, beside the served one:
`python -m bench.candidate PATH.keras ...`.

A candidate for the served digit model (another recipe, setting or seed) is chosen on
the validation digits (the last mnist.VALIDATION_SIZE training digits), never on the
test set, which is read once, to report the one chosen. A few thousand digits decide
little by accuracy alone, so a candidate is measured as it would serve:

  - MNIST's validation digits as they are: how many are read wrong, and the log-loss
    over the ten digits (which moves with every digit, not only the misread ones);
  - the same digits drawn as canvases and read as /api/predict reads a picture;
  - numbers of them written apart and close (drawings.numbers), read as /api/number
    reads a picture, with the served number model.

The served model (artifacts/, in onnxruntime) is measured first, the same way. The
README's list of digit models tried and not kept gives these figures.
"""

import argparse
import sys
from typing import NamedTuple

import keras
import numpy as np

import drawings
import mnist
from bench.numbers import LENGTHS, read_number, served_models
from drawings.numbers import numbers
from serve import preprocess

NUMBERS = 2000  # of each spacing
NUMBER_SEED = 21  # the validation numbers' own seed; a canvas's drawing uses seed 0


class KerasDigits:
    """A .keras digit model with the served model's predict(): (N, 28, 28) -> probabilities."""

    def __init__(self, path: str):
        self.model = keras.models.load_model(path)

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.model(images[..., None].astype(np.float32), training=False).numpy()


class Validation(NamedTuple):
    """What every model is measured on, made once: the validation digits, their 28x28
    inputs once drawn as canvases, and numbers written with them, by spacing."""
    images: np.ndarray
    labels: np.ndarray
    drawn: np.ndarray
    numbers: dict[str, list[tuple[bytes, str]]]


def validation_set(data: mnist.Mnist, count: int = mnist.VALIDATION_SIZE, per_spacing: int = NUMBERS) -> Validation:
    """The first `count` validation digits, drawn, and `per_spacing` numbers of them
    written apart and close."""
    images, labels = (array[:count] for array in data.validation)
    drawn = np.stack([preprocess.from_bytes(png) for png in drawings.canvases(images, seed=0)])
    written = {spacing: [(png, truth) for png, truth, _
                         in numbers(images, labels, per_spacing, NUMBER_SEED, spacing, LENGTHS)]
               for spacing in ("apart", "close")}
    return Validation(images, labels, drawn, written)


def validation_figures(digits, number_model, held: Validation) -> dict:
    """`digits` read on the validation digits as they are and drawn, and, with the
    number model, on the numbers written with them."""
    ten = digits.predict(held.images.astype(np.float32) / 255)[:, :10].astype(np.float64)
    ten /= ten.sum(axis=1, keepdims=True)
    of_the_truth = ten[np.arange(len(ten)), held.labels]
    figures = {"errors": int((ten.argmax(axis=1) != held.labels).sum()),
               "log_loss": round(float(-np.log(np.maximum(of_the_truth, 1e-12)).mean()), 4),
               "drawn_wrong": int((digits.predict(held.drawn)[:, :10].argmax(axis=1) != held.labels).sum())}
    for spacing, written in held.numbers.items():
        figures[f"{spacing}_right"] = sum(read_number(png, (number_model, digits))[0] == truth for png, truth in written)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="trained digit models (.keras), e.g. train.train --out DIR's")
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    args = parser.parse_args(argv)
    try:
        data = mnist.load(args.data)
    except mnist.MnistError as error:
        sys.exit(f"error: {error}")
    number_model, served = served_models()
    print(f"of {mnist.VALIDATION_SIZE:,} validation digits: MNIST's read wrong, log-loss over the ten digits, "
          f"drawn read wrong; of {NUMBERS:,} numbers of them: apart, close read right")
    held = validation_set(data)
    for name, digits in (("served", served), *((path, KerasDigits(path)) for path in args.models)):
        figures = validation_figures(digits, number_model, held)
        print(f"{name}: {figures['errors']} / {figures['log_loss']:.4f} / {figures['drawn_wrong']} / "
              f"{figures['apart_right']:,} / {figures['close_right']:,}", flush=True)


if __name__ == "__main__":
    main()
