"""The model contract: what training, export, serving and the benchmarks agree on.

Each stage reads the one before it only through the files in artifacts/, so the
names of those files and of each model's input and output are written once, here,
and every stage reads them from here. The serve image carries this file too.

Two models are served: DIGITS reads one digit, as MNIST draws it; SEGMENTS looks at
a stretch of a written number (drawn as segments.py draws it) and says which digit
it is, or that it is not one whole digit (the last of its outputs).
"""

from dataclasses import dataclass
from pathlib import Path

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
    input_shape: tuple[int, ...]
    output_name: str  # probabilities, summing to 1
    output_shape: tuple[int, ...]


DIGITS = Model("digits", "mnist.keras", "metrics.json", "mnist.onnx", "model.json",
               "image", (28, 28, 1), "probs", (10,))
SEGMENTS = Model("segments", "segments.keras", "segments-metrics.json", "segments.onnx", "segments.json",
                 "field", (28, 28, 1), "probs", (11,))
NOT_ONE_DIGIT = 10  # SEGMENTS' last output: a piece of a digit, several digits, or none
