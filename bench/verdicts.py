"""How honest the answers are: `python -m bench.verdicts` (part of `make bench`).

The issue's bars, measured on the project's own held-out sets, each drawn and
preprocessed exactly as the server does (in process, with the served ONNX model):

  drawn MNIST test digits (canvases)  refused (not a digit / several digits) <= 0.5%, unsure <= 2%,
                                      expected calibration error <= 1%;
  non-digits, kinds trained on and    answered "not a digit" or "unsure" >= 90%;
  kinds never trained on
  2 or 3 test digits on the digit pad answered "several digits" >= 90%.

Non-digits are drawn with seeds training never used; fragments and numbers are made
from test digits.
"""

import json

import numpy as np
import onnxruntime

import contract
import mnist
import readme
from bench.bench import RESULTS
from drawings import canvases, nondigits, png_bytes
from drawings.numbers import SPACINGS, number_picture
from serve import preprocess

SEED = 2026  # not one of drawings.TRAINING_SEEDS
COUNT = 1000  # non-digits of each set, and pictures of 2 or 3 digits (every test digit is drawn)


def verdicts_of(session: onnxruntime.InferenceSession, fields: list[np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Each field's verdict, and the twelve probabilities."""
    images = np.stack(fields)[..., None].astype(np.float32)
    probabilities = session.run([contract.DIGITS.output_name], {contract.DIGITS.input_name: images})[0]
    return [contract.verdict(p) for p in probabilities], probabilities


def measure(data: mnist.Mnist, count: int = COUNT) -> dict:
    session = onnxruntime.InferenceSession(contract.ARTIFACTS / contract.DIGITS.onnx_file,
                                           providers=["CPUExecutionProvider"])
    drawn = [preprocess.from_bytes(png) for png in canvases(data.test_images, seed=SEED)]
    verdicts, probabilities = verdicts_of(session, drawn)
    digits = probabilities[:, :contract.NOT_A_DIGIT] / probabilities[:, :contract.NOT_A_DIGIT].sum(axis=1, keepdims=True)
    right = digits.argmax(axis=1) == data.test_labels
    results = {"drawn test digits": {"pictures": len(drawn), **contract.shares(verdicts),
                                     "right": round(float(right.mean()), 5),
                                     "calibration_error": round(contract.calibration_error(digits.max(axis=1), right), 5)}}
    for name, kinds in (("non-digits, kinds trained on", nondigits.TRAINED),
                        ("non-digits, kinds held out", nondigits.HELD_OUT)):
        fields, names = nondigits.fields(count, SEED, kinds, data.test_images)
        verdicts, _ = verdicts_of(session, list(fields))
        refused = np.array([verdict in ("not a digit", "unsure") for verdict in verdicts])
        results[name] = {"pictures": count, **contract.shares(verdicts),
                         "by_kind": {kind: round(float(refused[[n == kind for n in names]].mean()), 3)
                                     for kind in kinds}}
    rng = np.random.default_rng(SEED)
    pictures = []
    for i in range(count):
        picks = rng.integers(0, len(data.test_images), 2 + i % 2)
        picture, _ = number_picture(list(data.test_images[picks]), rng, SPACINGS[i % len(SPACINGS)], "black-on-white")
        pictures.append(preprocess.from_bytes(png_bytes(picture)))
    verdicts, _ = verdicts_of(session, pictures)
    results["2 or 3 digits on the digit pad"] = {"pictures": count, **contract.shares(verdicts)}
    return results


def main():
    results = json.loads(RESULTS.read_text())
    results["verdicts"] = measure(mnist.load())
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    readme.main()
    print(json.dumps(results["verdicts"], indent=2))


if __name__ == "__main__":
    main()
