"""People's corrections as training reads them (train/corrections.py): from a snapshot
in the format `python -m serve.review export` writes, which examples are learned from,
how often, which are held out to test on, and what the served model makes of those."""

import hashlib

import numpy as np
import pytest

import contract
from train import corrections


def write_snapshot(path, entries) -> str:
    """A snapshot of (id, label, inputs) entries as `python -m serve.review export` writes
    one (its docstring lists the arrays); returns its sha256."""
    with path.open("wb") as file:
        np.savez_compressed(
            file, ids=np.array([i for i, _, _ in entries], dtype=str),
            created=np.arange(len(entries), dtype=np.float64),
            labels=np.array([label for _, label, _ in entries], dtype=str),
            predictions=np.array(["0"] * len(entries), dtype=str), models=np.array(["m"] * len(entries), dtype=str),
            offsets=np.cumsum([0] + [len(inputs) for _, _, inputs in entries], dtype=np.int64),
            inputs=np.concatenate([inputs for _, _, inputs in entries]).astype(np.uint8))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entries_of(data, count: int) -> list:
    """`count` corrections of MNIST training digits: one digit each, then a "not a digit",
    a number read at its length, and one read a digit short (which cannot be used)."""
    images, labels = data.train_images, data.train_labels
    made = [(f"{i:032x}", str(labels[i]), images[i:i + 1]) for i in range(count)]
    return made + [("f" * 32, "not a digit", np.zeros((1, 28, 28), np.uint8) + 255 * np.eye(28, dtype=np.uint8)),
                   ("e" * 32, f"{labels[0]}{labels[1]}", images[0:2]),
                   ("d" * 32, "123", images[0:2])]


def test_a_snapshot_is_split_weighted_and_labelled(data, tmp_path):
    digest = write_snapshot(tmp_path / "corrections.npz", entries_of(data, 200))
    learned = corrections.load(tmp_path / "corrections.npz")
    assert learned.sha256 == digest and learned.left_out == 1
    held = sum(corrections.held_out(f"{i:032x}") for i in range(200))
    assert 20 <= held <= 60  # about HOLDOUT of them, always the same ones
    examples = 200 + 1 + 2  # the digits, the "not a digit", the two digits of the number read at its length
    assert len(learned.holdout_y) + len(learned.train_y) // corrections.WEIGHT == examples
    assert len(learned.train_x) == len(learned.train_y) and learned.train_x.shape[1:] == (28, 28, 1)
    assert learned.train_x.max() == 1.0 and learned.train_x.dtype == np.float32
    assert set(learned.train_y.tolist()) | set(learned.holdout_y.tolist()) >= {contract.NOT_A_DIGIT}
    # Each training correction is there WEIGHT times in a row.
    assert (learned.train_y.reshape(-1, corrections.WEIGHT) == learned.train_y[::corrections.WEIGHT, None]).all()


def test_the_served_model_is_measured_on_the_held_out_corrections(data, tmp_path):
    write_snapshot(tmp_path / "corrections.npz", entries_of(data, 200))
    learned = corrections.load(tmp_path / "corrections.npz")
    always_zero = np.eye(contract.DIGITS.output_shape[0])[np.zeros(len(learned.holdout_y), int)]
    report = corrections.report(learned, always_zero)
    assert report["sha256"] == learned.sha256 and report["weight"] == corrections.WEIGHT
    assert report["served_holdout_accuracy"] > 0.95  # MNIST training digits: the served model reads them
    assert report["holdout_accuracy"] == pytest.approx(float((learned.holdout_y == 0).mean()))
    assert 0.99 < report["served_test_accuracy"] < 1
    nothing_served = corrections.report(learned, always_zero, tmp_path)  # a fresh folder: nothing to compare with
    assert nothing_served["holdout_accuracy"] == report["holdout_accuracy"]
    assert not {"served_model", "served_test_accuracy", "served_holdout_accuracy"} & set(nothing_served)


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_what_is_not_a_snapshot_is_one_line(tmp_path, content):
    path = tmp_path / "corrections.npz"
    if content is None:
        np.savez(path, ids=np.array(["a"]), labels=np.array(["1"]), offsets=np.array([0, 1]),
                 inputs=np.zeros((1, 28, 28), np.float32))  # pixels that are not bytes
    else:
        path.write_bytes(content)
    with pytest.raises(corrections.CorrectionsError) as error:
        corrections.load(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_number_with_a_point_or_a_minus_is_learned_digit_by_digit(data):
    inputs = data.train_images[:3]
    assert [digit for _, digit in corrections.examples(inputs, "-4.9,1")] == [4, 9, 1]
    assert corrections.examples(inputs, "-4.9") == []  # read as three digits, labelled two: which is which is unknown
