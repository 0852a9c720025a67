"""Train the digit CNN on MNIST: `python -m train.train` (or `make train`).

Writes artifacts/mnist.keras (the best epoch on validation), artifacts/metrics.json,
artifacts/training-curves.png and artifacts/confusion-matrix.png.

The validation set is the last 5,000 training images; the 10,000 test images are
used once, at the end, to report accuracy. Augmentation imitates how people draw
on a pad: a little rotation, shift and zoom, and thinner or bolder strokes.
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
import mnist
from train import plots

VALIDATION_SIZE = 5_000


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
        layers.Dense(*contract.DIGITS.output_shape, activation="softmax", name=contract.DIGITS.output_name),
    ], name="mnist_cnn")


def augmenter() -> keras.Sequential:
    """Random changes a drawn digit goes through: pose and size, then stroke width."""
    return keras.Sequential([
        layers.RandomRotation(12 / 360, fill_mode="constant"),
        layers.RandomZoom((-0.15, 0.15), fill_mode="constant"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        RandomStrokeWidth(),
    ], name="augment")


class RandomStrokeWidth(layers.Layer):
    """Makes strokes bolder (grey dilation) or thinner (grey erosion) on a third of the
    images each, as pens and fingers draw lines of every width."""

    def call(self, images, training=True):
        choice = tf.random.uniform((tf.shape(images)[0], 1, 1, 1), maxval=3, dtype=tf.int32)
        bolder = tf.nn.max_pool2d(images, 2, 1, "SAME")
        thinner = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
        return tf.where(choice == 0, bolder, tf.where(choice == 1, thinner, images))


def datasets(data: mnist.Mnist, batch_size: int, limit: int | None):
    """(train, validation) tf.data pipelines; only the training one is augmented."""
    images = data.train_images[..., None].astype("float32") / 255
    labels = data.train_labels
    train_x, train_y = images[:-VALIDATION_SIZE], labels[:-VALIDATION_SIZE]
    val_x, val_y = images[-VALIDATION_SIZE:], labels[-VALIDATION_SIZE:]
    if limit:
        train_x, train_y = train_x[:limit], train_y[:limit]
        val_x, val_y = val_x[: max(limit // 5, 100)], val_y[: max(limit // 5, 100)]
    augment = augmenter()
    train = (tf.data.Dataset.from_tensor_slices((train_x, train_y))
             .shuffle(len(train_x), reshuffle_each_iteration=True)
             .batch(batch_size)
             .map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=tf.data.AUTOTUNE)
             .prefetch(tf.data.AUTOTUNE))
    val = tf.data.Dataset.from_tensor_slices((val_x, val_y)).batch(512)
    return train, val, len(train_x), len(val_x)


def start_run(args: argparse.Namespace) -> mnist.Mnist:
    """What every training run begins with: the data (or one line saying why not), the
    seed set, the output directory made."""
    try:
        data = mnist.load(args.data)
    except mnist.MnistError as error:
        sys.exit(f"error: {error}")
    keras.utils.set_random_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    return data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--limit", type=int, help="train on the first N images only (quick runs)")
    parser.add_argument("--seed", type=int, default=1, help="fixed seed for weights, shuffling, augmentation")
    parser.add_argument("--out", type=Path, default=contract.ARTIFACTS, help="directory for the artifacts")
    args = parser.parse_args(argv)
    data = start_run(args)
    model_path = args.out / contract.DIGITS.keras_file

    train, val, train_size, val_size = datasets(data, args.batch_size, args.limit)
    steps = args.epochs * -(-train_size // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps - steps // 10, warmup_target=args.learning_rate, warmup_steps=steps // 10)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    model.summary()
    print(f"data: {data.source}; training on {train_size}, validating on {val_size}")

    started = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=args.epochs, callbacks=[
        keras.callbacks.ModelCheckpoint(model_path, monitor="val_accuracy", save_best_only=True),
    ])
    wall_seconds = time.perf_counter() - started

    best = keras.models.load_model(model_path)
    test_x = data.test_images[..., None].astype("float32") / 255
    predicted = best.predict(test_x, batch_size=512, verbose=0).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (data.test_labels, predicted), 1)
    metrics = {
        "test_accuracy": float((predicted == data.test_labels).mean()),
        "test_errors": int((predicted != data.test_labels).sum()),
        "per_class_accuracy": (confusion.diagonal() / confusion.sum(axis=1)).round(5).tolist(),
        "confusion_matrix": confusion.tolist(),
        "best_val_accuracy": float(max(history.history["val_accuracy"])),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "epochs": args.epochs,
        "train_size": train_size,
        "val_size": val_size,
        "parameters": int(best.count_params()),
        "wall_time_seconds": round(wall_seconds, 1),
        "cpu_count": os.cpu_count(),
        "seed": args.seed,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "data_source": data.source,
        "data_md5": data.md5,
        "history": {k: [round(float(v), 5) for v in vs] for k, vs in history.history.items()},
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
    }
    (args.out / contract.DIGITS.metrics_file).write_text(json.dumps(metrics, indent=2) + "\n")
    plots.training_curves(metrics["history"], args.out / "training-curves.png")
    plots.confusion_matrix(confusion, args.out / "confusion-matrix.png")
    print(f"test accuracy {metrics['test_accuracy']:.4%} ({metrics['test_errors']} errors), "
          f"best epoch {metrics['best_epoch']}, {wall_seconds / 60:.1f} min; wrote {args.out}")


if __name__ == "__main__":
    main()
