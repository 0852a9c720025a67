"""The model contract: what training, export, serving and the benchmarks agree on.

Each stage reads the one before it only through the files in artifacts/, so the
names of those files and of the model's input and output are written once, here,
and every stage reads them from here. The serve image carries this file too.
"""

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
KERAS_FILE = "mnist.keras"  # written by train, read by export
METRICS_FILE = "metrics.json"  # written by train
ONNX_FILE = "mnist.onnx"  # written by export, served
CARD_FILE = "model.json"  # written by export beside the ONNX file, served as /api/model

INPUT_NAME = "image"  # float32 in [0, 1], white ink on black, the digit centred as MNIST's are
INPUT_SHAPE = (28, 28, 1)  # after the batch dimension
OUTPUT_NAME = "probs"  # the ten digits' probabilities, summing to 1
OUTPUT_SHAPE = (10,)
