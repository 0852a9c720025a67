"""The serve stage stands alone: no deep-learning runtime, and clear start-up failures."""

import subprocess

import onnx
import pytest
from onnx import TensorProto, helper

from tests.conftest import ROOT, SERVE_PYTHON, RunningServer


def test_serve_environment_has_no_deep_learning_runtime():
    """.venv/serve is built from requirements-serve.txt alone, and serves every API test."""
    for module in ("tensorflow", "keras", "tf2onnx", "torch"):
        probe = subprocess.run([str(SERVE_PYTHON), "-c", f"import {module}"], capture_output=True, text=True)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, module
    installed = subprocess.run([str(SERVE_PYTHON), "-m", "pip", "list", "--format=freeze"],
                               capture_output=True, text=True, check=True).stdout.lower()
    assert "onnxruntime==" in installed and "bottle==" in installed and "gunicorn==" in installed
    assert not any(name in installed for name in ("tensorflow", "keras", "tf2onnx"))


def test_serve_code_imports_no_deep_learning_runtime():
    for source in (ROOT / "serve").glob("*.py"):
        text = source.read_text()
        assert not any(f"import {m}" in text or f"from {m}" in text for m in ("tensorflow", "keras", "tf2onnx")), source


def wrong_shape_model(path):
    """A valid ONNX model that takes colour 32x32 images: not ours."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 32, 32, 3])
    probs = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 32, 32, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["image"], ["probs"])], "other", [image], [probs])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize("case, words", [
    ("missing", "cannot read model"),
    ("corrupt", "is not a loadable ONNX model"),
    ("wrong shape", "expected 'image' [N, 28, 28, 1]"),
])
def test_bad_model_stops_start_up_with_one_line(tmp_path, case, words):
    model = tmp_path / "model.onnx"
    if case == "corrupt":
        model.write_bytes((ROOT / "artifacts" / "mnist.onnx").read_bytes()[:5000])
    elif case == "wrong shape":
        wrong_shape_model(model)
    server = RunningServer("--model", str(model))
    assert server.process.wait(timeout=60) != 0
    output = server.stop().strip()
    assert output.startswith("error: ") and words in output and len(output.splitlines()) == 1, output


def test_workers_shut_down_cleanly():
    """A worker forked from a master that had imported onnxruntime aborted on exit."""
    server = RunningServer("--workers", "2").wait_healthy()
    output = server.stop()
    assert server.process.returncode == 0, output
    assert "Worker exiting" in output and "SIGABRT" not in output and "terminate called" not in output, output


def test_settings_come_from_the_environment_too(tmp_path):
    server = RunningServer(env={"MODEL_PATH": str(tmp_path / "from-env.onnx")})
    assert server.process.wait(timeout=60) != 0
    assert "from-env.onnx" in server.stop()
