"""The exported models, run by onnxruntime: the only inference code serving needs.

`python -m serve.model PATH` checks a digit model file and the number model beside
it: one line, and exit status 1 if they cannot serve. With `--into DIR` it also
copies them, their cards and plots into DIR, exactly the files it checked: the
service's workers load that copy, so a file replaced or broken in artifacts/ reaches
them only when the service is told to reload and the check passes again.
"""

import argparse
import hashlib
import json
import shutil
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
        if not (fits(got_in, spec.input_name, spec.input_shape) and fits(got_out, spec.output_name, spec.output_shape)):
            raise ModelError(f"{self.path} takes {got_in} and returns {got_out}; expected "
                             f"'{spec.input_name}' [N, {', '.join(map(str, spec.input_shape))}] -> "
                             f"'{spec.output_name}' [N, {', '.join(map(str, spec.output_shape))}]")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, height, width) float32 in [0, 1] -> (N, ...outputs) probabilities, in one call."""
        return self.session.run([self.spec.output_name], {self.spec.input_name: images[..., None].astype(np.float32)})[0]

    def _read_card(self) -> dict:
        """The card written at export beside the model, or the little known without it."""
        card_path = self.path.with_name(self.spec.card_file)
        if card_path.is_file():
            try:
                return json.loads(card_path.read_text())
            except ValueError:
                raise ModelError(f"{card_path} is not valid JSON") from None
        return {"file": self.path.name, "sha256": self.sha256}


def fits(got: list[tuple[str, list]], name: str, shape: tuple) -> bool:
    """Whether a model's inputs (or outputs) are the one `name` of `shape`, None there
    any size (which onnxruntime reports as a name or None)."""
    return (len(got) == 1 and got[0][0] == name and len(got[0][1]) == len(shape)
            and all(wanted is None or size == wanted for size, wanted in zip(got[0][1], shape)))


def copy_checked(models: list[OnnxModel], into: Path) -> None:
    """Copies each model file as it was checked (a file changed meanwhile is a
    ModelError), the cards as they were read, and the plots beside the first."""
    for model in models:
        try:
            data = model.path.read_bytes()
        except OSError:
            data = b""  # gone meanwhile: as changed
        if hashlib.sha256(data).hexdigest() != model.sha256:
            raise ModelError(f"{model.path} changed while it was checked: replace model files by renaming them into place")
        (into / model.path.name).write_bytes(data)
        (into / model.spec.card_file).write_text(json.dumps(model.card, indent=2) + "\n")
    for plot in contract.PLOTS:
        if (source := models[0].path.with_name(f"{plot}.png")).is_file():
            shutil.copyfile(source, into / source.name)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m serve.model",
                                     description="Check a digit model file and the number model beside it.")
    parser.add_argument("path", type=Path)
    parser.add_argument("--into", type=Path, help="copy the files checked, their cards and plots into this directory")
    args = parser.parse_args(argv)
    try:
        models = [OnnxModel(args.path), OnnxModel(args.path.with_name(contract.NUMBERS.onnx_file), contract.NUMBERS)]
        if args.into:
            copy_checked(models, args.into)
    except ModelError as error:
        sys.exit(f"error: {error}")
    print(f"ok: {args.path} (sha256 {models[0].sha256[:12]}), number model sha256 {models[1].sha256[:12]}")


if __name__ == "__main__":
    main()
