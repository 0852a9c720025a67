"""People's corrections, as training reads them: `python -m train.train --corrections FILE`.

FILE is a snapshot of the accepted corrections (`python -m serve.review export`: one
.npz, its arrays listed there). Each correction's 28x28 inputs are the ones the
server computed from the drawing, so the model learns from exactly what it is
served. A correction labelled with one digit, or "not a digit", is one example; a
number is used where the server read it as as many digits as the label has (a
point, a comma or a minus aside), each input labelled with its digit in turn (read
as fewer or more, which input is which digit is unknown, and it is left out).

A share of the corrections (HOLDOUT, picked by a hash of their id, so a correction
stays on its side as the snapshot grows) is kept out of training: a second test
set, made of what people really draw. The rest are repeated WEIGHT times: a few
hundred corrections would count for nothing beside 55,000 MNIST digits, and they
are the pictures the model got wrong. They go through the same augmentation as
every training picture, so no two repeats are alike.
"""

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnxruntime

import contract

HOLDOUT = 0.2  # of the corrections, kept out of training to test on
WEIGHT = 4  # times each training correction is repeated
NOT_A_DIGIT = "not a digit"


class CorrectionsError(Exception):
    """The snapshot cannot be read; the message is one line."""


class Corrections(NamedTuple):
    train_x: np.ndarray  # float32 (N, 28, 28, 1) in [0, 1], each training example WEIGHT times
    train_y: np.ndarray  # int64 (N,): digit, or contract.NOT_A_DIGIT
    holdout_x: np.ndarray
    holdout_y: np.ndarray
    sha256: str  # of the snapshot file, to say in metrics.json what the model learned from
    left_out: int  # numbers read at another length than their label's


def examples(inputs: np.ndarray, label: str) -> list[tuple[np.ndarray, int]]:
    """The (input, class) pairs one correction gives: none if it cannot say which input is which digit."""
    if label == NOT_A_DIGIT:
        return [(field, contract.NOT_A_DIGIT) for field in inputs[:1]]
    digits = [int(character) for character in label if character.isdigit()]  # a point, a comma or a minus has no input
    if len(inputs) != len(digits):
        return []
    return list(zip(inputs, digits))


def held_out(correction_id: str) -> bool:
    return hashlib.sha256(correction_id.encode()).digest()[0] < HOLDOUT * 256


def load(path: Path) -> Corrections:
    try:
        data = path.read_bytes()
        with np.load(path, allow_pickle=False) as snapshot:
            ids, labels, offsets, inputs = (snapshot[name] for name in ("ids", "labels", "offsets", "inputs"))
    except (OSError, ValueError, KeyError, EOFError) as error:
        raise CorrectionsError(f"cannot read the corrections snapshot {path}: {error}") from None
    if inputs.dtype != np.uint8 or inputs.shape[1:] != (28, 28) or len(offsets) != len(ids) + 1:
        raise CorrectionsError(f"{path} is not a corrections snapshot: inputs {inputs.dtype} {inputs.shape}")
    sides = {True: [], False: []}
    left_out = 0
    for i, (correction_id, label) in enumerate(zip(ids.tolist(), labels.tolist())):
        pairs = examples(inputs[offsets[i]:offsets[i + 1]], label)
        left_out += not pairs
        sides[held_out(correction_id)] += pairs
    train, holdout = (as_arrays(sides[False], WEIGHT), as_arrays(sides[True], 1))
    return Corrections(*train, *holdout, hashlib.sha256(data).hexdigest(), left_out)


def as_arrays(pairs: list[tuple[np.ndarray, int]], repeats: int) -> tuple[np.ndarray, np.ndarray]:
    images = np.array([field for field, _ in pairs], dtype=np.float32).reshape(-1, 28, 28, 1) / 255
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    return np.repeat(images, repeats, axis=0), np.repeat(labels, repeats)


def report(learned: Corrections, new_probabilities: np.ndarray, artifacts: Path = contract.ARTIFACTS) -> dict:
    """What metrics.json says of the corrections: the snapshot's sha256, how many were
    used, and how the new model reads the held-out ones, beside the served one (the
    files in `artifacts`, which export has not replaced yet; left out where none is
    served there); the served one's MNIST test accuracy is its card's, beside the new
    model's own in metrics.json."""
    report = {"sha256": learned.sha256, "training_examples": len(learned.train_y) // WEIGHT, "weight": WEIGHT,
              "holdout_examples": len(learned.holdout_y), "left_out": learned.left_out}
    served, card_path = artifacts / contract.DIGITS.onnx_file, artifacts / contract.DIGITS.card_file
    card = json.loads(card_path.read_text()) if served.is_file() and card_path.is_file() else None
    if card:
        report |= {"served_model": card["sha256"][:12], "served_test_accuracy": card["test_accuracy"]}
    if len(learned.holdout_y):
        report["holdout_accuracy"] = float((new_probabilities.argmax(axis=1) == learned.holdout_y).mean())
        if card:
            session = onnxruntime.InferenceSession(served, providers=["CPUExecutionProvider"])
            feed = {contract.DIGITS.input_name: learned.holdout_x}
            served_probabilities = session.run([contract.DIGITS.output_name], feed)[0]
            report["served_holdout_accuracy"] = float((served_probabilities.argmax(axis=1) == learned.holdout_y).mean())
    return report
