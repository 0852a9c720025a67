"""Convert the trained Keras model to ONNX: `python -m export.export` (or `make export`).

Reads artifacts/mnist.keras, writes artifacts/mnist.onnx and artifacts/model.json.
The ONNX model takes `image` float32 [N, 28, 28, 1] in [0, 1] (white ink on black,
as MNIST) and returns `probs` float32 [N, 10], the softmax.

The conversion is checked, not trusted: ONNX and Keras must agree on all 10,000 test
images (max |p_onnx - p_keras| < 1e-4, same argmax on >= 99.99%), or export fails.
"""

import argparse
import datetime
import hashlib
import json
import platform
import sys
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime
import tensorflow as tf
import tf2onnx

import contract
import mnist

OPSET = 17
MAX_PROBABILITY_DIFFERENCE = 1e-4
MIN_ARGMAX_AGREEMENT = 0.9999


class ExportError(Exception):
    """The converted model does not behave like the trained one."""


def convert(model: keras.Model, onnx_path: Path) -> None:
    """Keras -> ONNX through a tf.function with an explicit signature.

    tf2onnx.convert.from_keras trips over Keras 3 saved models (KeyError on
    keras_tensor names); tracing the model as a plain tf.function does not. The
    TensorSpec name and the output dict key become the ONNX input and output names.
    """
    signature = [tf.TensorSpec([None, *contract.INPUT_SHAPE], tf.float32, name=contract.INPUT_NAME)]
    serve = tf.function(lambda image: {contract.OUTPUT_NAME: model(image, training=False)},
                        input_signature=signature)
    tf2onnx.convert.from_function(serve, input_signature=signature, opset=OPSET,
                                  output_path=str(onnx_path))


def check_parity(model: keras.Model, session: onnxruntime.InferenceSession,
                 images: np.ndarray, labels: np.ndarray) -> dict:
    """Compares ONNX with Keras on `images`; raises ExportError past the tolerances."""
    keras_probs = model.predict(images, batch_size=1000, verbose=0)
    onnx_probs = np.concatenate([session.run([contract.OUTPUT_NAME], {contract.INPUT_NAME: images[i:i + 1000]})[0]
                                 for i in range(0, len(images), 1000)])
    max_difference = float(np.abs(onnx_probs - keras_probs).max())
    agreement = float((onnx_probs.argmax(1) == keras_probs.argmax(1)).mean())
    if max_difference >= MAX_PROBABILITY_DIFFERENCE or agreement < MIN_ARGMAX_AGREEMENT:
        raise ExportError(f"ONNX disagrees with Keras: max probability difference {max_difference:.2e} "
                          f"(limit {MAX_PROBABILITY_DIFFERENCE:.0e}), same argmax on {agreement:.4%} "
                          f"(need {MIN_ARGMAX_AGREEMENT:.2%})")
    return {"images": len(images), "max_probability_difference": max_difference,
            "argmax_agreement": agreement,
            "onnxruntime_test_accuracy": float((onnx_probs.argmax(1) == labels).mean())}


def describe(session: onnxruntime.InferenceSession, onnx_path: Path, parity: dict) -> dict:
    """model.json: what a server or a user needs to know about mnist.onnx."""
    def io(nodes):
        return [{"name": n.name, "shape": [d if isinstance(d, int) else "N" for d in n.shape],
                 "type": n.type} for n in nodes]

    return {
        "file": onnx_path.name,
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "bytes": onnx_path.stat().st_size,
        "opset": OPSET,
        "inputs": io(session.get_inputs()),
        "outputs": io(session.get_outputs()),
        "input_convention": "float32 in [0, 1], white ink on black, digit box 20x20 centred by mass in 28x28",
        "test_accuracy": parity["onnxruntime_test_accuracy"],
        "parity": parity,
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "tf2onnx": tf2onnx.__version__,
                     "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="directory of the MNIST IDX files (default: see mnist/)")
    parser.add_argument("--artifacts", type=Path, default=contract.ARTIFACTS,
                        help="directory holding mnist.keras; mnist.onnx and model.json go there")
    args = parser.parse_args(argv)

    keras_path, onnx_path = args.artifacts / contract.KERAS_FILE, args.artifacts / contract.ONNX_FILE
    if not keras_path.is_file():
        sys.exit(f"error: {keras_path} not found; run `make train` first")
    try:
        data = mnist.load(args.data)
    except mnist.MnistError as error:
        sys.exit(f"error: {error}")

    model = keras.models.load_model(keras_path)
    convert(model, onnx_path)
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    test_images = data.test_images[..., None].astype(np.float32) / 255
    try:
        parity = check_parity(model, session, test_images, data.test_labels)
    except ExportError as error:
        onnx_path.unlink()
        sys.exit(f"error: {error}")
    (args.artifacts / contract.CARD_FILE).write_text(json.dumps(describe(session, onnx_path, parity), indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB): onnxruntime test accuracy "
          f"{parity['onnxruntime_test_accuracy']:.4%}, max |p_onnx - p_keras| "
          f"{parity['max_probability_difference']:.1e}, argmax agreement {parity['argmax_agreement']:.4%}")


if __name__ == "__main__":
    main()
