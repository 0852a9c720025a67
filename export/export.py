"""Convert the trained Keras models to ONNX: `python -m export.export` (or `make export`).

Reads artifacts/mnist.keras and artifacts/numbers.keras; writes each model's ONNX
file and card (artifacts/mnist.onnx and model.json, numbers.onnx and numbers.json),
with the names and shapes contract.py gives. The digit model takes `image` float32
[N, 28, 28, 1] in [0, 1] (white ink on black, as MNIST) and returns `probs` [N, 12]:
the ten digits, "not a digit" and "several digits"; the number model takes `line`
[N, 28, width, 1] (lines.py draws it) and returns `probs` [N, width / 4, 11]: every
4 px, the ten digits and the blank.

The conversion is checked, not trusted: ONNX and Keras must agree on every output
for MNIST's 5,000 validation digits, all 10,000 test images and non-digits made from
test digits, and on every frame of the lines of numbers written with test digits
(max |p_onnx - p_keras| < 1e-4, same argmax on >= 99.99%), or export fails. The digit
model's card says how often each verdict (contract.verdict) is given to test digits
and to test non-digits, and carries what its training measured, for the page's model
card.

Nor is a worse model served by accident: a digit model that reads more of MNIST's
validation digits wrong in onnxruntime than the served one, by more than
MAX_MORE_ERRORS (the count in the card beside the ONNX file it would replace, when
that card describes that file), is refused, unless --allow-worse. The gate reads
validation, not the test set: which model is served is a choice, and the test set
only reports. Both models are converted and checked in a staging folder inside the
artifacts folder, and moved over the served files only when every check has passed:
a refused export leaves them as they were.
"""

import argparse
import datetime
import hashlib
import json
import platform
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx

import contract
import mnist
import lines
from drawings import nondigits
from drawings.numbers import SPACINGS, written_number

OPSET = 17
TEST_NON_DIGITS = 2_000  # of each: kinds trained on, kinds held out, several digits
SEED = 0  # of the test non-digits: not one of drawings.TRAINING_SEEDS
CARRIED = ("test_accuracy", "per_class_accuracy", "confusion_matrix", "test_calibration_error", "temperature",
           "val_accuracy", "parameters", "epochs", "best_epoch", "wall_time_seconds", "augment")  # from metrics.json
MAX_PROBABILITY_DIFFERENCE = 1e-4
MIN_ARGMAX_AGREEMENT = 0.9999
MAX_MORE_ERRORS = 2  # validation digits read wrong beyond the served digit model's: 0.04 points of 5,000


class ExportError(Exception):
    """The converted model does not behave like the trained one."""


def convert(model: keras.Model, spec: contract.Model, onnx_path: Path) -> None:
    """Keras -> ONNX through a tf.function with an explicit signature.

    tf2onnx.convert.from_keras trips over Keras 3 saved models (KeyError on
    keras_tensor names); tracing the model as a plain tf.function does not. The
    TensorSpec name and the output dict key become the ONNX input and output names.
    """
    signature = [tf.TensorSpec([None, *spec.input_shape], tf.float32, name=spec.input_name)]
    serve = tf.function(lambda images: {spec.output_name: model(images, training=False)},
                        input_signature=signature)
    tf2onnx.convert.from_function(serve, input_signature=signature, opset=OPSET,
                                  output_path=str(onnx_path))


def check_parity(model: keras.Model, spec: contract.Model, session: onnxruntime.InferenceSession,
                 images: np.ndarray) -> tuple[dict, np.ndarray]:
    """Compares ONNX with Keras on `images`; raises ExportError past the tolerances.
    Returns the comparison and ONNX's probabilities."""
    keras_probs = model.predict(images, batch_size=1000, verbose=0)
    onnx_probs = np.concatenate([session.run([spec.output_name], {spec.input_name: images[i:i + 1000]})[0]
                                 for i in range(0, len(images), 1000)])
    max_difference = float(np.abs(onnx_probs - keras_probs).max())
    agreement = float((onnx_probs.argmax(-1) == keras_probs.argmax(-1)).mean())
    if max_difference >= MAX_PROBABILITY_DIFFERENCE or agreement < MIN_ARGMAX_AGREEMENT:
        raise ExportError(f"ONNX disagrees with Keras: max probability difference {max_difference:.2e} "
                          f"(limit {MAX_PROBABILITY_DIFFERENCE:.0e}), same argmax on {agreement:.4%} "
                          f"(need {MIN_ARGMAX_AGREEMENT:.2%})")
    return {"images": len(images), "max_probability_difference": max_difference,
            "argmax_agreement": agreement}, onnx_probs


def number_lines(data: mnist.Mnist, count: int = 300) -> np.ndarray:
    """The lines of `count` numbers written with test digits, as the number model reads
    them, padded with blank to the widest."""
    rng = np.random.default_rng(0)
    framed = []
    for i in range(count):
        picks = rng.integers(0, len(data.test_images), 2 + i % 5)
        ink, _, _ = written_number(list(data.test_images[picks]), rng, SPACINGS[i % len(SPACINGS)])
        framed.append(lines.framed(lines.line(ink.astype(np.float32) / 255).ink))
    out = np.zeros((count, lines.HEIGHT, max(line.shape[1] for line in framed), 1), np.float32)
    for row, line in zip(out, framed):
        row[:, :line.shape[1], 0] = line
    return out


def describe(session: onnxruntime.InferenceSession, onnx_path: Path, parity: dict) -> dict:
    """The model's card: what a server or a user needs to know about its ONNX file."""
    def io(nodes):
        return [{"name": n.name, "shape": [d if isinstance(d, int) else "N" if axis == 0 else "any"
                                           for axis, d in enumerate(n.shape)],
                 "type": n.type} for n in nodes]

    return {
        "file": onnx_path.name,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "bytes": onnx_path.stat().st_size,
        "opset": OPSET,
        "inputs": io(session.get_inputs()),
        "outputs": io(session.get_outputs()),
        "parity": parity,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "tf2onnx": tf2onnx.__version__,
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
    }


def export(spec: contract.Model, artifacts: Path, staging: Path, images: np.ndarray) -> tuple[dict, np.ndarray]:
    """Converts one model from `artifacts` into `staging` and checks it on `images`;
    `main` adds to its card. Returns the card and ONNX's probabilities."""
    keras_path, onnx_path = artifacts / spec.keras_file, staging / spec.onnx_file
    if not keras_path.is_file():
        sys.exit(f"error: {keras_path} not found; run `make train` first")
    model = keras.models.load_model(keras_path)
    convert(model, spec, onnx_path)
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    try:
        parity, probabilities = check_parity(model, spec, session, images)
    except ExportError as error:
        sys.exit(f"error: {spec.name}: {error}")
    print(f"converted {spec.keras_file} ({onnx_path.stat().st_size / 1e6:.2f} MB): max |p_onnx - p_keras| "
          f"{parity['max_probability_difference']:.1e}, argmax agreement {parity['argmax_agreement']:.4%}")
    return describe(session, onnx_path, parity), probabilities


def served_errors(artifacts: Path) -> int | None:
    """The validation digits the digit model served from `artifacts` reads wrong: its
    card's count, if the card there describes the ONNX file there (the same sha256); else None."""
    onnx_path, card_path = artifacts / contract.DIGITS.onnx_file, artifacts / contract.DIGITS.card_file
    if not (onnx_path.is_file() and card_path.is_file()):
        return None
    card = json.loads(card_path.read_text())
    if card.get("sha256") != hashlib.sha256(onnx_path.read_bytes()).hexdigest():
        return None
    return card.get("validation_errors")


def check_not_worse(errors: int, served: int | None) -> None:
    """Raises ExportError if `errors` is more than MAX_MORE_ERRORS above `served`."""
    if served is not None and errors - served > MAX_MORE_ERRORS:
        raise ExportError(f"{errors} of the {mnist.VALIDATION_SIZE:,} validation digits read wrong in onnxruntime, "
                          f"{errors - served} more than the served model (at most {MAX_MORE_ERRORS} more allowed)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--artifacts", type=Path, default=contract.ARTIFACTS,
                        help="directory holding the .keras files; the ONNX files and cards go there")
    parser.add_argument("--allow-worse", action="store_true",
                        help="export a digit model that reads validation worse than the one served from --artifacts")
    args = parser.parse_args(argv)
    try:
        data = mnist.load(args.data)
    except mnist.MnistError as error:
        sys.exit(f"error: {error}")

    digits, labels = data.test_images, data.test_labels
    test_sets = {"test digits": digits.astype(np.float32) / 255,
                 "non-digits (kinds trained on)": nondigits.fields(TEST_NON_DIGITS, SEED, nondigits.TRAINED, digits)[0],
                 "non-digits (kinds held out)": nondigits.fields(TEST_NON_DIGITS, SEED, nondigits.HELD_OUT, digits)[0],
                 "several digits": nondigits.several_digits(digits, labels, TEST_NON_DIGITS, SEED)[0]}
    served = None if args.allow_worse else served_errors(args.artifacts)  # read before anything is replaced
    with tempfile.TemporaryDirectory(prefix=".export-", dir=args.artifacts) as staging:
        staging = Path(staging)
        export_both(args.artifacts, staging, data, test_sets, served)
        for spec in (contract.DIGITS, contract.NUMBERS):  # each a rename within one file system
            for name in (spec.onnx_file, spec.card_file):
                (staging / name).replace(args.artifacts / name)
                print(f"wrote {args.artifacts / name}")


def export_both(artifacts: Path, staging: Path, data: mnist.Mnist, test_sets: dict[str, np.ndarray],
                served: int | None) -> None:
    """Both models' ONNX files and cards in `staging`, every check passed."""
    validation, validation_labels = data.validation
    card, probabilities = export(contract.DIGITS, artifacts, staging,
                                 np.concatenate([validation.astype(np.float32) / 255, *test_sets.values()])[..., None])
    on_validation, probabilities = probabilities[:len(validation)], probabilities[len(validation):]
    card["validation_errors"] = int((on_validation[:, :contract.NOT_A_DIGIT].argmax(1) != validation_labels).sum())
    card["input_convention"] = "float32 in [0, 1], white ink on black, digit box 20x20 centred by mass in 28x28"
    card["outputs_meaning"] = [str(digit) for digit in range(10)] + ["not a digit", "several digits"]
    card["verdicts"] = verdict_shares(test_sets, probabilities)
    card["test_accuracy"] = float((probabilities[:len(data.test_labels), :contract.NOT_A_DIGIT].argmax(1)
                                   == data.test_labels).mean())
    trained = json.loads((artifacts / contract.DIGITS.metrics_file).read_text())
    card["training"] = {key: trained[key] for key in CARRIED}
    print(f"digits: in onnxruntime, {card['validation_errors']} validation digits wrong, test accuracy "
          f"{card['test_accuracy']:.4%}; verdicts {card['verdicts']}")
    try:
        check_not_worse(card["validation_errors"], served)
    except ExportError as error:
        sys.exit(f"error: digits: {error}: nothing written; --allow-worse exports it anyway")
    write_card(contract.DIGITS, staging, card)

    card, _ = export(contract.NUMBERS, artifacts, staging, number_lines(data))
    card["input_convention"] = "float32 in [0, 1]: a number's line as lines.framed draws it, 20 px of ink tall"
    card["outputs_meaning"] = [str(digit) for digit in range(10)] + ["blank"]
    write_card(contract.NUMBERS, staging, card)


def verdict_shares(test_sets: dict[str, np.ndarray], probabilities: np.ndarray) -> dict[str, dict[str, float]]:
    """For each test set, the share of its pictures given each verdict."""
    shares, start = {}, 0
    for name, images in test_sets.items():
        shares[name] = contract.shares([contract.verdict(p) for p in probabilities[start:start + len(images)]])
        start += len(images)
    return shares


def write_card(spec: contract.Model, artifacts: Path, card: dict) -> None:
    (artifacts / spec.card_file).write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
