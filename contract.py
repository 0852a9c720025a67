"""The model contract: what training, export, serving and the benchmarks agree on.

Each stage reads the one before it only through the files in artifacts/, so the
names of those files and of each model's input and output are written once, here,
and every stage reads them from here. The serve image carries this file too.

Two models are served: DIGITS reads one digit, as MNIST draws it, or says that the
picture is not a digit or is several digits (its last two outputs); NUMBERS reads
the line of a written number (drawn as lines.py draws it), every lines.FRAME px of
it: which digit is there, or a blank (the last of its outputs). A None in a shape is
any size: a line is as wide as the number.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@dataclass(frozen=True)
class Model:
    """One model's files in artifacts/ and its signature (shapes after the batch dimension)."""
    name: str
    keras_file: str  # written by train, read by export
    metrics_file: str  # written by train
    onnx_file: str  # written by export, served
    card_file: str  # written by export beside the ONNX file
    input_name: str  # float32 in [0, 1], white ink on black
    input_shape: tuple[int | None, ...]
    output_name: str  # probabilities, summing to 1
    output_shape: tuple[int | None, ...]


DIGITS = Model("digits", "mnist.keras", "metrics.json", "mnist.onnx", "model.json",
               "image", (28, 28, 1), "probs", (12,))
NUMBERS = Model("numbers", "numbers.keras", "numbers-metrics.json", "numbers.onnx", "numbers.json",
                "line", (28, None, 1), "probs", (None, 11))
NOT_A_DIGIT, SEVERAL_DIGITS = 10, 11  # DIGITS' outputs after the ten digits

BLANK = 10  # NUMBERS' last output: no digit in this frame (CTC's blank)
PLOTS = ("confusion-matrix", "training-curves", "reliability")  # PNGs training draws beside the models, served with the card

# How the digit model's calibrated probabilities become a verdict. Calibrated, they
# mean what they say, so the thresholds are plain odds, not tuned: serve answers with
# them, export and the benchmarks measure how often each verdict is given.
REFUSED_BELOW = 0.5  # the ten digits' probability together: under it, "not a digit" or "several digits"
UNSURE_BELOW = 0.8  # the likeliest digit's probability of the twelve (or a whole number's): under it, "unsure"
VERDICTS = ("digit", "unsure", "not a digit", "several digits")


def verdict(probabilities) -> str:
    """The verdict on one picture, from the digit model's twelve probabilities."""
    digits = probabilities[:NOT_A_DIGIT]
    if sum(digits) < REFUSED_BELOW:
        return "several digits" if probabilities[SEVERAL_DIGITS] > probabilities[NOT_A_DIGIT] else "not a digit"
    return "digit" if max(digits) >= UNSURE_BELOW else "unsure"


def shares(verdicts: list[str]) -> dict[str, float]:
    """The share of `verdicts` that is each verdict, as export and the benchmarks report them."""
    return {name: round(verdicts.count(name) / len(verdicts), 5) for name in VERDICTS}


class ConfidenceBins(NamedTuple):
    """Answers in equal-width bins of their confidence: how many fall in each, and
    each bin's mean confidence and share right (0 where a bin is empty)."""
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray


def confidence_bins(confidences: np.ndarray, correct: np.ndarray, bins: int = 15) -> ConfidenceBins:
    """The bins both the calibration error and the reliability diagram (train/plots.py) are made of."""
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    counts = np.bincount(which, minlength=bins)
    mean = [np.bincount(which, weights=values, minlength=bins) / np.maximum(counts, 1)
            for values in (confidences, correct)]
    return ConfidenceBins(counts, *mean)


def calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: the gap between confidence and accuracy, averaged
    over equal-width confidence bins, weighted by how many answers fall in each."""
    binned = confidence_bins(confidences, correct, bins)
    return float((np.abs(binned.confidence - binned.accuracy) * binned.counts).sum() / len(confidences))
