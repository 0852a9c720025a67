"""Train the digit CNN on MNIST: `python -m train.train` (or `make train`).

Writes artifacts/mnist.keras (the best epoch on validation, calibrated),
artifacts/metrics.json, artifacts/training-curves.png, artifacts/confusion-matrix.png
and artifacts/reliability.png.

The model reads a digit, or says the picture is not a digit (letters, symbols,
doodles, scribbles, pieces of digits: drawings/nondigits.py) or several digits
(numbers written with MNIST digits): twelve outputs. Its probabilities are
calibrated: one temperature, fitted on validation, divides its logits (folded into
the last layer, so the exported model carries it).

The validation set is the last 5,000 training images, and non-digits made from
them; the 10,000 test images are used once, at the end, to report accuracy (argmax
over the ten digits). Augmentation (train/augment.py) imitates how people draw on
screens.

AdamW follows a warm-up and cosine learning-rate schedule, its weight decay on the
convolutions' and dense layers' weights (not batch norm's). Where the CPU computes
bfloat16 itself (AMX, AVX-512 BF16), the layers compute in bfloat16 while the weights
stay float32: with AMX a training step took about a third less time, measured back to
back. Elsewhere bfloat16 is emulated, so they compute in float32: on a CPU with AVX2
alone an epoch in bfloat16 took nine times as long as in float32. The saved model
computes in float32, as it is exported and served.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

import contract
import drawings
import mnist
from drawings import nondigits, styles
from train import augment, corrections, plots

NON_DIGITS = 8_000  # training pictures of things that are not a digit, all kinds but the held-out ones
SEVERAL_DIGITS = 4_000  # training pictures of 2 or 3 digits written together
STYLED_DIGITS = 3_000  # digits drawn as strokes in the styles MNIST lacks (flagged 1s, crossed 7s, ...)
TEMPERATURES = np.geomspace(0.5, 5, 200)  # tried in calibration


def conv_bn(filters, kernel, **kwargs) -> list:
    """A convolution, batch norm (which makes its bias redundant) and ReLU."""
    return [layers.Conv2D(filters, kernel, use_bias=False, **kwargs), layers.BatchNormalization(), layers.ReLU()]


def build_model() -> keras.Model:
    """Two blocks of three convolutions, the third strided (a learned pooling), then a
    small dense head. Batch norm after every layer, dropout after each block."""
    return keras.Sequential([
        keras.Input(contract.DIGITS.input_shape, name=contract.DIGITS.input_name),
        *conv_bn(32, 3), *conv_bn(32, 3),
        *conv_bn(32, 5, strides=2, padding="same"), layers.Dropout(0.2),
        *conv_bn(64, 3), *conv_bn(64, 3),
        *conv_bn(64, 5, strides=2, padding="same"), layers.Dropout(0.2),
        layers.Flatten(),
        layers.Dense(128, use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.Dropout(0.3),
        layers.Dense(*contract.DIGITS.output_shape, name="logits"),
        layers.Softmax(name=contract.DIGITS.output_name, dtype="float32"),  # probabilities near 1 need float32
    ], name="mnist_cnn")


def examples(data: mnist.Mnist, limit: int | None, seed: int,
             learned: corrections.Corrections | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(images (N, 28, 28, 1) float32, labels) for "train" and "val": MNIST digits, digits
    drawn in the world's styles, then non-digits and several-digit pictures made from
    the same split's digits only, as many per digit in both, and in training people's
    corrections, if `learned` holds some. `limit` keeps the first N training digits (quick runs)."""
    images = data.train_images[..., None].astype("float32") / 255
    cut = len(images) - mnist.VALIDATION_SIZE
    splits = {"train": slice(0, limit or cut), "val": slice(cut, cut + (max(limit // 5, 100) if limit else mnist.VALIDATION_SIZE))}
    made = {}
    for offset, (name, rows) in enumerate(splits.items()):
        digits, labels = images[rows], data.train_labels[rows]
        share = len(digits) / cut
        others, _ = nondigits.fields(round(NON_DIGITS * share), seed + offset, nondigits.TRAINED, data.train_images[rows])
        several, _ = nondigits.several_digits(data.train_images[rows], labels, round(SEVERAL_DIGITS * share), seed + offset)
        styled, styled_labels = styles.fields(round(STYLED_DIGITS * share), seed + offset)
        made[name] = (np.concatenate([digits, styled[..., None], others[..., None], several[..., None]]),
                      np.concatenate([labels, styled_labels, np.full(len(others), contract.NOT_A_DIGIT),
                                      np.full(len(several), contract.SEVERAL_DIGITS)]).astype(np.int64))
    if learned:
        made["train"] = tuple(np.concatenate(pair) for pair in zip(made["train"], (learned.train_x, learned.train_y)))
    return made


def datasets(made: dict, batch_size: int, choices: tuple[str, ...], seed: int):
    """(train, validation) tf.data pipelines; only the training one is augmented."""
    train_x, train_y = made["train"]
    augment_batch = augment.augmenter(choices)
    pen_input = (train_x, augment.skeletons(train_x)) if "pen" in choices else train_x  # thinning costs time and memory
    train = (shuffled(pen_input, train_y, batch_size, seed)
             .map(lambda x, y: (augment_batch(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    val = tf.data.Dataset.from_tensor_slices(made["val"]).batch(512)
    return train, val


def shuffled(inputs, labels: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Training batches, shuffled anew each epoch."""
    return (tf.data.Dataset.from_tensor_slices((inputs, labels))
            .shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size))


def as_they_are(made: dict, batch_size: int, seed: int) -> tf.data.Dataset:
    """The training pictures shuffled, not augmented: what the last epochs train on."""
    return shuffled(*made["train"], batch_size, seed).prefetch(tf.data.AUTOTUNE)


def warm_up_then_cosine(steps: int, peak: float) -> keras.optimizers.schedules.LearningRateSchedule:
    """The learning rate over `steps`: up from 0 to `peak` in the first tenth, then down
    to 0 along a cosine."""
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=steps - steps // 10, warmup_target=peak,
                                                  warmup_steps=steps // 10)


def in_float32(model: keras.Model) -> keras.Model:
    """The same model computing in float32, as it is exported and served."""
    keras.config.set_dtype_policy("float32")
    copy = build_model()
    copy.set_weights(model.get_weights())
    return copy


def calibrate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """Fits one temperature on validation (the one under which the true labels are
    likeliest) and divides the last layer's weights by it, so the model's own
    softmax gives calibrated probabilities. Returns the temperature."""
    last = model.get_layer("logits")
    logits = keras.Model(model.inputs, last.output).predict(images, batch_size=512, verbose=0).astype(np.float64)
    losses = [cross_entropy(logits / t, labels) for t in TEMPERATURES]
    temperature = float(TEMPERATURES[int(np.argmin(losses))])
    kernel, bias = last.get_weights()
    last.set_weights([kernel / temperature, bias / temperature])
    return temperature


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probabilities[np.arange(len(labels)), labels].mean())


def fastest_precision(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """mixed_bfloat16 where the CPU has bfloat16 instructions, float32 elsewhere."""
    flags = set(cpuinfo.read_text().split()) if cpuinfo.exists() else set()
    return "mixed_bfloat16" if flags & {"amx_bf16", "avx512_bf16"} else "float32"


def start_run(args: argparse.Namespace) -> mnist.Mnist:
    """What every training run begins with: the data (or one line saying why not), the
    seed set, the output directory made."""
    try:
        data = mnist.load(args.data)
    except mnist.MnistError as error:
        sys.exit(f"error: {error}")
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()  # the same seed, the same model: tf.data's random maps run in order
    args.out.mkdir(parents=True, exist_ok=True)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05,
                        help="AdamW's decoupled weight decay of the layers' weights, times the learning rate each step")
    parser.add_argument("--precision", choices=("mixed_bfloat16", "float32"), default=fastest_precision(),
                        help="mixed_bfloat16 computes in bfloat16 and keeps weights in float32: about a third "
                             "less time a step on CPUs with AMX, nine times more with AVX2 alone; "
                             "the saved model computes in float32 (default: the faster here, %(default)s)")
    parser.add_argument("--clean-epochs", type=int, default=0,
                        help="the last epochs train on the pictures as they are, not augmented (measured, not kept: "
                             "the model then reads drawn digits worse; README)")
    parser.add_argument("--limit", type=int, help="train on the first N images only (quick runs); "
                                                     f"at most {mnist.TRAINING_DIGITS:,}, the rest validate")
    parser.add_argument("--seed", type=int, default=1,
                        help="fixed seed for weights, shuffling, augmentation and the pictures drawn to train on")
    parser.add_argument("--augment", default=",".join(augment.CHOSEN),
                        help=f"comma-separated changes to training images, of {', '.join(augment.CHOICES)}")
    parser.add_argument("--out", type=Path, default=contract.ARTIFACTS, help="directory for the artifacts")
    parser.add_argument("--corrections", type=Path,
                        help="a snapshot of accepted corrections (python -m serve.review export) to learn from too")
    parser.add_argument("--compare", action="store_true",
                        help="a run to compare settings: validation figures only, the test set is not read")
    args = parser.parse_args(argv)
    if args.limit is not None and not 0 < args.limit <= mnist.TRAINING_DIGITS:
        parser.error(f"--limit: from 1 to {mnist.TRAINING_DIGITS:,}: the last {mnist.VALIDATION_SIZE:,} "
                     "training images are the validation set")
    if not {args.seed, args.seed + 1} <= set(drawings.TRAINING_SEEDS):
        parser.error(f"--seed: from {drawings.TRAINING_SEEDS.start} to {drawings.TRAINING_SEEDS.stop - 2}: "
                     "other seeds draw the non-digits the model is measured on")
    if not 0 <= args.clean_epochs < args.epochs:
        parser.error(f"--clean-epochs: from 0 to one less than --epochs ({args.epochs})")
    data = start_run(args)
    model_path = args.out / contract.DIGITS.keras_file

    choices = tuple(choice for choice in args.augment.split(",") if choice)
    if set(choices) - set(augment.CHOICES):
        parser.error(f"--augment: choose from {', '.join(augment.CHOICES)}")
    try:
        learned = corrections.load(args.corrections) if args.corrections else None
    except corrections.CorrectionsError as error:
        sys.exit(f"error: {error}")
    made = examples(data, args.limit, args.seed, learned)
    train, val = datasets(made, args.batch_size, choices, args.seed)
    train_size, val_size = len(made["train"][1]), len(made["val"][1])
    schedule = warm_up_then_cosine(args.epochs * -(-train_size // args.batch_size), args.learning_rate)
    keras.config.set_dtype_policy(args.precision)  # the model's layers only: the augmenter is already built
    model = build_model()
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay)
    # Not decayed: batch norm's scales and shifts, and the logits' bias.
    optimizer.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.summary()
    print(f"data: {data.source}; training on {train_size}, validating on {val_size}")

    started = time.perf_counter()
    checkpoint = keras.callbacks.ModelCheckpoint(model_path, monitor="val_accuracy", save_best_only=True)
    augmented_epochs = args.epochs - args.clean_epochs
    history = model.fit(train, validation_data=val, epochs=augmented_epochs, callbacks=[checkpoint]).history
    if args.clean_epochs:
        clean = model.fit(as_they_are(made, args.batch_size, args.seed), validation_data=val,
                          initial_epoch=augmented_epochs, epochs=args.epochs, callbacks=[checkpoint]).history
        history = {name: values + clean[name] for name, values in history.items()}
    wall_seconds = time.perf_counter() - started

    best = in_float32(keras.models.load_model(model_path))
    temperature = calibrate(best, *made["val"])  # on validation: the test set is only read below
    best.save(model_path)
    val_x, val_y = made["val"]
    val_right = best.predict(val_x, batch_size=512, verbose=0).argmax(axis=1) == val_y
    validation = {"digits": float(val_right[val_y < contract.NOT_A_DIGIT].mean()),
                  "not a digit": float(val_right[val_y == contract.NOT_A_DIGIT].mean()),
                  "several digits": float(val_right[val_y == contract.SEVERAL_DIGITS].mean())}
    print(f"validation accuracy {validation}, temperature {temperature:.3f}, {wall_seconds / 60:.1f} min")
    if args.compare:
        (args.out / "compare.json").write_text(json.dumps({"augment": list(choices), "epochs": args.epochs,
                                                           "clean_epochs": args.clean_epochs,
                                                           "val_accuracy": validation, "temperature": temperature,
                                                           "wall_time_seconds": round(wall_seconds, 1)}) + "\n")
        return
    test_x = data.test_images[..., None].astype("float32") / 255
    probabilities = best.predict(test_x, batch_size=512, verbose=0)
    predicted = probabilities[:, :contract.NOT_A_DIGIT].argmax(axis=1)
    confidences = probabilities[np.arange(len(predicted)), predicted]
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (data.test_labels, predicted), 1)
    metrics = {
        "test_accuracy": float((predicted == data.test_labels).mean()),
        "test_errors": int((predicted != data.test_labels).sum()),
        "per_class_accuracy": (confusion.diagonal() / confusion.sum(axis=1)).round(5).tolist(),
        "confusion_matrix": confusion.tolist(),
        "test_not_one_digit": float((probabilities[:, contract.NOT_A_DIGIT:].sum(axis=1) > 0.5).mean()),
        "test_calibration_error": round(contract.calibration_error(confidences, predicted == data.test_labels), 5),
        "temperature": round(temperature, 4),
        "val_accuracy": validation,
        "best_val_accuracy": float(max(history["val_accuracy"])),
        "best_epoch": int(np.argmax(history["val_accuracy"])) + 1,
        "epochs": args.epochs,
        "train_size": train_size,
        "val_size": val_size,
        "parameters": int(best.count_params()),
        "wall_time_seconds": round(wall_seconds, 1),
        "cpu_count": os.cpu_count(),
        "seed": args.seed,
        "batch_size": args.batch_size,
        "augment": list(choices),
        "clean_epochs": args.clean_epochs,
        "learning_rate": args.learning_rate,
        "weight_decay": args.weight_decay,
        "precision": args.precision,
        "data_source": data.source,
        "data_md5": data.md5,
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.items()},
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
    }
    if learned:
        metrics["corrections"] = corrections.report(learned, best.predict(learned.holdout_x, batch_size=512, verbose=0))
    (args.out / contract.DIGITS.metrics_file).write_text(json.dumps(metrics, indent=2) + "\n")
    plots.training_curves(metrics["history"], args.out / "training-curves.png")
    plots.confusion_matrix(confusion, args.out / "confusion-matrix.png")
    plots.reliability(confidences, predicted == data.test_labels, args.out / "reliability.png")
    print(f"test accuracy {metrics['test_accuracy']:.4%} ({metrics['test_errors']} errors), "
          f"best epoch {metrics['best_epoch']}, {wall_seconds / 60:.1f} min; wrote {args.out}")


if __name__ == "__main__":
    main()
