"""The serve image. No Docker engine runs here, so what can be checked without one is:
the Dockerfile installs requirements-serve.txt alone, copies only the serve stage, runs
as a non-root user with a health check, keeps corrections on a volume that user owns,
which compose.yaml mounts; and the environment it builds (made the same way in
.venv/serve) serves every API test with no deep-learning runtime (test_serve_environment)."""

import re

import yaml

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")  # continuation lines joined


def instructions(keyword):
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.startswith(keyword + " ")]


def test_image_is_slim_python_with_serve_requirements_only():
    assert instructions("FROM") == ["python:3.11-slim"]
    assert instructions("RUN")[0] == "pip install --no-cache-dir -r requirements-serve.txt"
    assert instructions("ENTRYPOINT") == ['["python", "-m", "serve"]']


def test_image_copies_the_serve_stage_and_nothing_of_training():
    copied = [source for line in instructions("COPY") for source in line.split()[:-1]]
    assert copied == ["requirements-serve.txt", "contract.py", "pen.py", "lines.py", "serve/", "web/",
                      "artifacts/mnist.onnx", "artifacts/model.json", "artifacts/numbers.onnx", "artifacts/numbers.json",
                      "artifacts/confusion-matrix.png", "artifacts/training-curves.png", "artifacts/reliability.png"]
    assert not any(re.match(r"(train|export|bench|tests)/", source) for source in copied)


def test_image_runs_as_non_root_with_a_health_check():
    assert instructions("USER") == ["reader"]
    assert "/healthz" in instructions("HEALTHCHECK")[0]


def test_corrections_are_kept_on_a_volume_the_user_owns_and_compose_mounts():
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(instructions("ENV"))))
    data_dir = env["DATA_DIR"]
    assert instructions("VOLUME") == [data_dir]
    made = next(line for line in instructions("RUN") if "useradd" in line)
    assert f"mkdir -p {data_dir}" in made and f"chown reader:reader {data_dir}" in made
    assert DOCKERFILE.index("chown reader:reader") < DOCKERFILE.index("USER reader")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    serve = compose["services"]["serve"]
    assert serve["environment"]["DATA_DIR"] == data_dir
    [mount] = serve["volumes"]
    volume, target = mount.split(":")
    assert target == data_dir and volume in compose["volumes"]  # a named volume, not a folder of the host
