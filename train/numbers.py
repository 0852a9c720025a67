"""Train the number model: `python -m train.numbers` (or `make train`).

Writes artifacts/numbers.keras (the best epoch on validation) and
artifacts/numbers-metrics.json.

The model reads the line of a written number (lines.py) as handwriting recognisers
read a line of text: convolutions along it, which say every lines.FRAME px which
digit they see or a blank, trained with CTC (connectionist temporal classification)
on the number's digits alone, so nobody has to say where one digit ends and the
next begins: where neighbours touch or cross, the model learns it. Its lines are
numbers of 1 to 6 MNIST training digits written by drawings/numbers.py, half of
them touching, a quarter close, a quarter apart; validation numbers are written
with the validation digits (the last 5,000), and the epoch that reads the most of
them right, whole, is kept. A third of the numbers are written with bolder strokes
and a third with thinner ones, as pens and fingers draw lines of every width
(MNIST's are broad for their size).
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import contract
import lines
import mnist
from drawings.numbers import written_number
from train.train import conv_bn, start_run, warm_up_then_cosine

LENGTHS = (1, 2, 3, 4, 5, 6)
SPACINGS_WRITTEN = ("apart", "close", "touching", "touching")  # touching digits are the hard ones: half the numbers
VALIDATION_NUMBERS = 1200


def build_model() -> keras.Model:
    """The digit model's two blocks of convolutions over the line (each halving its
    width), one that sums up each column of what they found, then two along the line,
    which see a digit and its neighbours (about 60 px) before they say what is where."""
    spec = contract.NUMBERS
    line = keras.Input(spec.input_shape, name=spec.input_name)
    x = line
    for layer in [*conv_bn(32, 3, padding="same"), *conv_bn(32, 3, padding="same"),
                  *conv_bn(32, 5, strides=2, padding="same"), layers.Dropout(0.2),
                  *conv_bn(64, 3, padding="same"), *conv_bn(64, 3, padding="same"),
                  *conv_bn(64, 5, strides=2, padding="same"), layers.Dropout(0.2),
                  *conv_bn(128, (lines.HEIGHT // lines.FRAME, 1)),
                  layers.Reshape((-1, 128)),  # (frames, features)
                  layers.Conv1D(128, 5, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU(),
                  layers.Conv1D(128, 5, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU(),
                  layers.Dropout(0.3),
                  layers.Dense(spec.output_shape[-1], name="logits"),
                  layers.Softmax(name=spec.output_name)]:
        x = layer(x)
    return keras.Model(line, x, name="number_cnn")


def stroke_width(ink: np.ndarray, change: int) -> np.ndarray:
    """`ink` with bolder strokes (change 1: grey dilation over 2x2), thinner ones (2:
    grey erosion), or as it is (0)."""
    if change == 0:
        return ink
    padded = np.pad(ink, ((0, 1), (0, 1)), constant_values=0 if change == 1 else 1)
    shifted = [padded[dy:dy + ink.shape[0], dx:dx + ink.shape[1]] for dy in (0, 1) for dx in (0, 1)]
    return np.max(shifted, axis=0) if change == 1 else np.min(shifted, axis=0)


def written_lines(images: np.ndarray, labels: np.ndarray, count: int,
                  seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The model's inputs (lines.framed) and digits of `count` numbers written with `images`."""
    rng = np.random.default_rng(seed)
    inputs, digits = [], []
    for i in range(count):
        picks = rng.integers(0, len(images), LENGTHS[i % len(LENGTHS)])
        ink, _, _ = written_number(list(images[picks]), rng, SPACINGS_WRITTEN[i % len(SPACINGS_WRITTEN)])
        line = lines.line(ink.astype(np.float32) / 255)
        inputs.append(lines.framed(stroke_width(line.ink, rng.integers(3))))
        digits.append(labels[picks])
    return inputs, digits


def batches(inputs: list[np.ndarray], digits: list[np.ndarray], size: int, rng: np.random.Generator | None = None):
    """(lines, digits padded with -1, their indices) in batches of lines of about the
    same width, each padded with blank to its widest; in a random order if `rng` is given."""
    jitter = rng.uniform(0, 2 * lines.FRAME, len(inputs)) if rng else np.zeros(len(inputs))
    order = np.argsort([x.shape[1] for x in inputs] + jitter, kind="stable")
    groups = [order[i:i + size] for i in range(0, len(order), size)]
    if rng:
        rng.shuffle(groups)
    for group in groups:
        batch = np.zeros((len(group), lines.HEIGHT, max(inputs[k].shape[1] for k in group), 1), np.float32)
        wanted = np.full((len(group), max(len(digits[k]) for k in group)), -1, np.int32)
        for row, k in enumerate(group):
            batch[row, :, :inputs[k].shape[1], 0] = inputs[k]
            wanted[row, :len(digits[k])] = digits[k]
        yield batch, wanted, group


def best_path(probabilities: np.ndarray) -> list[str]:
    """The number each line's frames read (lines.spikes: the greedy reading the server
    makes at each of its two phases)."""
    return ["".join(str(digit) for digit, _ in lines.spikes(frames)) for frames in probabilities]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--numbers", type=int, default=60000, help="numbers written for training")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=1, help="fixed seed for the numbers, weights and shuffling")
    parser.add_argument("--out", type=Path, default=contract.ARTIFACTS, help="directory for the artifacts")
    args = parser.parse_args(argv)
    data = start_run(args)
    spec = contract.NUMBERS

    images, labels, held_out = data.train_images, data.train_labels, mnist.VALIDATION_SIZE
    train_x, train_y = written_lines(images[:-held_out], labels[:-held_out], args.numbers, args.seed)
    val_x, val_y = written_lines(*data.validation, min(VALIDATION_NUMBERS, max(args.numbers // 10, 60)), args.seed + 1)
    val_truth = ["".join(map(str, number)) for number in val_y]
    model = build_model()
    logits = keras.Model(model.input, model.get_layer("logits").output)  # the same layers: CTC wants logits
    optimizer = keras.optimizers.Adam(warm_up_then_cosine(args.epochs * -(-len(train_x) // args.batch_size),
                                                          args.learning_rate))
    model.summary()
    print(f"{len(train_x)} training numbers, {len(val_x)} for validation")

    @tf.function(input_signature=[tf.TensorSpec([None, *spec.input_shape]), tf.TensorSpec([None, None], tf.int32)])
    def train_step(batch, wanted):
        with tf.GradientTape() as tape:
            frames = logits(batch, training=True)
            loss = tf.reduce_mean(tf.nn.ctc_loss(
                wanted, frames, label_length=tf.reduce_sum(tf.cast(wanted >= 0, tf.int32), axis=1),
                logit_length=tf.fill([tf.shape(frames)[0]], tf.shape(frames)[1]),
                logits_time_major=False, blank_index=contract.BLANK))
        optimizer.apply_gradients(zip(tape.gradient(loss, logits.trainable_variables), logits.trainable_variables))
        return loss

    rng = np.random.default_rng(args.seed)
    history, best = {"loss": [], "val_numbers_right": []}, -1.0
    started = time.perf_counter()
    for epoch in range(args.epochs):
        losses = [float(train_step(batch, wanted)) for batch, wanted, _ in batches(train_x, train_y, args.batch_size, rng)]
        right = float(np.mean([read == val_truth[k] for batch, _, group in batches(val_x, val_y, 256)
                               for read, k in zip(best_path(model.predict(batch, verbose=0)), group)]))
        history["loss"].append(round(float(np.mean(losses)), 5))
        history["val_numbers_right"].append(round(right, 5))
        print(f"epoch {epoch + 1}/{args.epochs}: loss {history['loss'][-1]:.4f}, "
              f"validation numbers read right {right:.2%}", flush=True)
        if right > best:
            best = right
            model.save(args.out / spec.keras_file)
    wall_seconds = time.perf_counter() - started
    metrics = {
        "best_val_numbers_right": round(best, 5),
        "best_epoch": int(np.argmax(history["val_numbers_right"])) + 1,
        "epochs": args.epochs,
        "numbers": args.numbers,
        "val_numbers": len(val_x),
        "parameters": int(model.count_params()),
        "wall_time_seconds": round(wall_seconds, 1),
        "seed": args.seed,
        "history": history,
    }
    (args.out / spec.metrics_file).write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"validation numbers read right {metrics['best_val_numbers_right']:.2%}, "
          f"{wall_seconds / 60:.1f} min; wrote {args.out / spec.keras_file}")


if __name__ == "__main__":
    main()
