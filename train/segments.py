"""Train the segment model on written numbers: `python -m train.segments` (or `make train`).

Writes artifacts/segments.keras (the best epoch on validation) and
artifacts/segments-metrics.json.

Numbers of 1-6 digits are written (drawings/numbers.py) apart, close and touching
(half of them),
from MNIST training digits; the validation numbers from the last 5,000 of them,
which the digit model does not train on either. Every candidate stretch of a number
(segments.py) is labelled by whose ink it holds: a digit, if it holds at least WHOLE
of that digit's ink and at most SLIVER of any other's (neighbours that touch or
overlap reach into each other's stretches); "not one digit" if it holds less than
PART of every digit, or PART of two; left out between, where either answer is fair.
Most candidates are not one digit; NEGATIVES_PER_DIGIT of them are kept per digit one.
A third of the numbers are written with bolder strokes and a third with thinner ones,
as pens and fingers draw lines of every width (MNIST's are broad for their size).
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from PIL import Image

import contract
import segments
from drawings.numbers import written_number
from train.train import VALIDATION_SIZE, conv_bn, start_run

WHOLE, SLIVER, PART = 0.85, 0.2, 0.6
NEGATIVES_PER_DIGIT = 3
LENGTHS = (1, 2, 3, 4, 5, 6)
SPACINGS_WRITTEN = ("apart", "close", "touching", "touching")  # touching digits are the hard ones: half the numbers


def build_model() -> keras.Model:
    """Small enough to read a few hundred candidates of a number in milliseconds."""
    spec = contract.SEGMENTS
    return keras.Sequential([
        keras.Input(spec.input_shape, name=spec.input_name),
        *conv_bn(16, 3, padding="same"), *conv_bn(32, 3, strides=2, padding="same"),
        *conv_bn(48, 3, strides=2, padding="same"), layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(96, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.Dropout(0.3),
        layers.Dense(*spec.output_shape, activation="softmax", name=spec.output_name),
    ], name="segment_cnn")


def target(shares: np.ndarray, labels: np.ndarray) -> int:
    """What a candidate holding `shares` of each digit's ink should be read as; -1 for
    a candidate left out."""
    order = np.argsort(-shares)
    most, second = shares[order[0]], (shares[order[1]] if len(shares) > 1 else 0.0)
    if most >= WHOLE and second <= SLIVER:
        return int(labels[order[0]])
    if most < PART or second >= PART:
        return contract.NOT_ONE_DIGIT
    return -1


def stroke_width(ink: np.ndarray, change: int) -> np.ndarray:
    """`ink` with bolder strokes (change 1: grey dilation over 2x2), thinner ones (2:
    grey erosion), or as it is (0)."""
    if change == 0:
        return ink
    padded = np.pad(ink, ((0, 1), (0, 1)), constant_values=0 if change == 1 else 1)
    shifted = [padded[dy:dy + ink.shape[0], dx:dx + ink.shape[1]] for dy in (0, 1) for dx in (0, 1)]
    return np.max(shifted, axis=0) if change == 1 else np.min(shifted, axis=0)


def ink_shares(number: segments.Line, owners: np.ndarray, found: list[segments.Box],
               digits: int) -> np.ndarray:
    """(candidates, digits): how much of each digit's ink lies in each candidate's columns."""
    crop = owners[number.top:number.top + round(number.ink.shape[0] / number.scale),
                  number.left:number.left + round(number.ink.shape[1] / number.scale)]
    owner = np.asarray(Image.fromarray(crop.astype(np.int32)).resize(number.ink.shape[::-1], Image.Resampling.NEAREST))
    per_column = np.stack([(number.ink * (owner == k)).sum(axis=0) for k in range(digits)])  # (digits, columns)
    before = np.concatenate([np.zeros((digits, 1)), np.cumsum(per_column, axis=1)], axis=1)
    starts = np.array([x for x, _, _, _ in found])
    stops = starts + np.array([w for _, _, w, _ in found])
    return ((before[:, stops] - before[:, starts]) / np.maximum(before[:, -1:], 1e-6)).T


def labelled_candidates(images: np.ndarray, labels: np.ndarray, count: int,
                        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fields (uint8, a quarter of float32's memory: a million of them are made) and
    targets of the candidates of `count` numbers written with `images`."""
    rng = np.random.default_rng(seed)
    fields, targets = [], []
    for i in range(count):
        picks = rng.integers(0, len(images), LENGTHS[i % len(LENGTHS)])
        ink, owners, _ = written_number(list(images[picks]), rng, SPACINGS_WRITTEN[i % len(SPACINGS_WRITTEN)])
        number = segments.line(ink.astype(np.float32) / 255)
        number = number._replace(ink=stroke_width(number.ink, rng.integers(3)))
        found, _ = segments.candidates(number)
        shares = ink_shares(number, owners, found, len(picks))
        wanted = np.array([target(share, labels[picks]) for share in shares])
        digits = np.flatnonzero((wanted >= 0) & (wanted != contract.NOT_ONE_DIGIT))
        others = np.flatnonzero(wanted == contract.NOT_ONE_DIGIT)
        others = rng.choice(others, min(len(others), NEGATIVES_PER_DIGIT * max(len(digits), 1)), replace=False)
        keep = np.concatenate([digits, others]).astype(int)
        fields.append((segments.fields(number, [found[k] for k in keep]) * 255).round().astype(np.uint8))
        targets.append(wanted[keep])
    return np.concatenate(fields)[..., None], np.concatenate(targets)


def as_float(fields, targets):
    return tf.cast(fields, tf.float32) / 255, targets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--numbers", type=int, default=12000, help="numbers written for training")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=1, help="fixed seed for the numbers, weights and shuffling")
    parser.add_argument("--out", type=Path, default=contract.ARTIFACTS, help="directory for the artifacts")
    args = parser.parse_args(argv)
    data = start_run(args)
    spec = contract.SEGMENTS
    model_path = args.out / spec.keras_file

    images, labels = data.train_images, data.train_labels
    train_x, train_y = labelled_candidates(images[:-VALIDATION_SIZE], labels[:-VALIDATION_SIZE],
                                           args.numbers, args.seed)
    val_x, val_y = labelled_candidates(images[-VALIDATION_SIZE:], labels[-VALIDATION_SIZE:],
                                       max(args.numbers // 10, 30), args.seed + 1)
    train = (tf.data.Dataset.from_tensor_slices((train_x, train_y)).shuffle(len(train_x), seed=args.seed)
             .batch(args.batch_size).map(as_float).prefetch(tf.data.AUTOTUNE))
    val = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(1024).map(as_float)
    steps = args.epochs * -(-len(train_x) // args.batch_size)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.learning_rate, steps)),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    model.summary()
    print(f"{len(train_x)} training candidates from {args.numbers} numbers, {len(val_x)} for validation")

    started = time.perf_counter()
    history = model.fit(train, epochs=args.epochs, validation_data=val, callbacks=[
                            keras.callbacks.ModelCheckpoint(model_path, monitor="val_accuracy", save_best_only=True)])
    wall_seconds = time.perf_counter() - started
    metrics = {
        "best_val_accuracy": float(max(history.history["val_accuracy"])),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "epochs": args.epochs,
        "numbers": args.numbers,
        "train_candidates": len(train_x),
        "val_candidates": len(val_x),
        "not_one_digit_share": round(float((train_y == contract.NOT_ONE_DIGIT).mean()), 4),
        "parameters": int(model.count_params()),
        "wall_time_seconds": round(wall_seconds, 1),
        "seed": args.seed,
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.history.items()},
    }
    (args.out / spec.metrics_file).write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"validation accuracy on candidates {metrics['best_val_accuracy']:.4%}, "
          f"{wall_seconds / 60:.1f} min; wrote {model_path}")


if __name__ == "__main__":
    main()
