"""The exported models, run by onnxruntime: the only inference code serving needs.

`python -m serve.model PATH` checks a digit model file: one line, and exit status 1
if it cannot serve.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime

import contract


class ModelError(Exception):
    """The model file cannot serve; the message is one line for whoever starts the server."""


class OnnxModel:
    """Loads an exported model once and checks it has the signature `spec` promises.

    One intra-op thread per session: the server runs a worker per core, and each
    worker's requests are single images that a second thread would not speed up.
    """

    def __init__(self, path: Path, spec: contract.Model = contract.DIGITS, threads: int = 1):
        self.path, self.spec = Path(path), spec
        try:
            data = self.path.read_bytes()
        except OSError as error:
            raise ModelError(f"cannot read model {self.path}: {error.strerror}") from None
        self.sha256 = hashlib.sha256(data).hexdigest()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"{self.path} is not a loadable ONNX model ({str(error).splitlines()[0][:200]})") from None
        self._check_signature()
        self.card = self._read_card()

    def _check_signature(self) -> None:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        got_in = [(i.name, i.shape[1:]) for i in inputs]
        got_out = [(o.name, o.shape[1:]) for o in outputs]
        spec = self.spec
        expected_in = [(spec.input_name, list(spec.input_shape))]
        expected_out = [(spec.output_name, list(spec.output_shape))]
        if got_in != expected_in or got_out != expected_out:
            raise ModelError(f"{self.path} takes {got_in} and returns {got_out}; expected "
                             f"'{spec.input_name}' [N, {', '.join(map(str, spec.input_shape))}] -> "
                             f"'{spec.output_name}' [N, {', '.join(map(str, spec.output_shape))}]")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float32 in [0, 1] -> (N, outputs) probabilities, in one call."""
        return self.session.run([self.spec.output_name], {self.spec.input_name: images[..., None].astype(np.float32)})[0]

    def _read_card(self) -> dict:
        """The card written at export beside the model, or the little known without it."""
        card_path = self.path.with_name(self.spec.card_file)
        if card_path.is_file():
            return json.loads(card_path.read_text())
        return {"file": self.path.name, "sha256": self.sha256}


if __name__ == "__main__":
    try:
        model = OnnxModel(Path(sys.argv[1]))
    except ModelError as error:
        sys.exit(f"error: {error}")
    print(f"ok: {model.path} (sha256 {model.sha256[:12]})")
