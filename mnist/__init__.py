"""The MNIST data, read from its four original IDX files and checked before use.

Training, export's parity check, the tests and the benchmarks all need the same
60k + 10k images, so they all read them through `load()`. It is plain numpy and
gzip: it runs in the slim serve environment as well as in the training one.

Where the files come from, first found wins:
  1. an explicit directory (`--data DIR`) or the MNIST_DIR environment variable;
  2. ../shared/data/mnist next to the project (the machines that build it);
  3. keras.datasets.mnist, which downloads them (for users with internet).
An explicit directory that is wrong is an error, never a silent fall-through.
"""

import dataclasses
import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = PROJECT_ROOT.parent / "shared" / "data" / "mnist"

# name -> (IDX magic number, record count, md5 of the uncompressed file).
# The md5s are the widely published ones, also listed in shared/data/mnist/README.md.
FILES = {
    "train-images-idx3-ubyte": (0x803, 60_000, "6bbc9ace898e44ae57da46a324031adb"),
    "train-labels-idx1-ubyte": (0x801, 60_000, "a25bea736e30d166cdddb491f175f624"),
    "t10k-images-idx3-ubyte": (0x803, 10_000, "2646ac647ad5339dbf082846283269ea"),
    "t10k-labels-idx1-ubyte": (0x801, 10_000, "27ae3e4e09519cfbb04c329615203637"),
}


# The last training images, never trained on: models, recipes and settings are chosen on
# them (train/, bench/candidate.py), and the test set is read only to report.
VALIDATION_SIZE = 5_000
TRAINING_DIGITS = FILES["train-images-idx3-ubyte"][1] - VALIDATION_SIZE  # the ones trained on


class MnistError(Exception):
    """The data is missing or not what MNIST is; the message is one line for the user."""


@dataclasses.dataclass
class Mnist:
    """uint8 images (N, 28, 28), white ink on black, and uint8 labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    md5: dict

    @property
    def validation(self) -> tuple[np.ndarray, np.ndarray]:
        """The validation digits and their labels: the last VALIDATION_SIZE training images."""
        return self.train_images[-VALIDATION_SIZE:], self.train_labels[-VALIDATION_SIZE:]


def load(data_dir=None) -> Mnist:
    """The four MNIST arrays from the first source that has them (see module doc)."""
    explicit = data_dir or os.environ.get("MNIST_DIR")
    if explicit:
        return read_idx_dir(Path(explicit))
    if SHARED_DIR.is_dir():
        return read_idx_dir(SHARED_DIR)
    return _download_with_keras()


def read_idx_dir(directory: Path) -> Mnist:
    """Reads and verifies the four IDX files (gzipped or raw) in `directory`."""
    if not directory.is_dir():
        raise MnistError(f"MNIST directory {directory} does not exist")
    arrays, md5 = {}, {}
    for name, (magic, count, expected_md5) in FILES.items():
        raw = _read_file(directory, name)
        md5[name] = hashlib.md5(raw).hexdigest()
        if md5[name] != expected_md5:
            raise MnistError(
                f"{directory / name}: md5 of content is {md5[name]}, expected {expected_md5} "
                "(file corrupt, truncated or not MNIST)"
            )
        arrays[name] = _parse_idx(raw, name, magic, count)
    return Mnist(
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"],
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"],
        source=str(directory),
        md5=md5,
    )


def _read_file(directory: Path, name: str) -> bytes:
    """The uncompressed bytes of `name` or `name.gz`."""
    gz, plain = directory / f"{name}.gz", directory / name
    try:
        if gz.is_file():
            with gzip.open(gz) as f:
                return f.read()
        if plain.is_file():
            return plain.read_bytes()
    except (OSError, EOFError) as error:  # a truncated gzip stream raises EOFError
        raise MnistError(f"{gz}: cannot be read ({error})") from None
    raise MnistError(f"{directory}: missing {name}.gz (or {name})")


def _parse_idx(raw: bytes, name: str, magic: int, count: int) -> np.ndarray:
    """The array behind an IDX header, after checking magic number, count and length."""
    header = np.frombuffer(raw[:16], dtype=">u4")
    if header.size < 2 or header[0] != magic or header[1] != count:
        raise MnistError(f"{name}: header is not an IDX file of {count} records (magic {magic:#x})")
    if magic == 0x801:
        return np.frombuffer(raw, dtype=np.uint8, offset=8, count=count).copy()
    rows, cols = int(header[2]), int(header[3])
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols).copy()


def _download_with_keras() -> Mnist:
    """The fallback for users with internet: Keras downloads and caches MNIST itself."""
    try:
        from keras.datasets import mnist as keras_mnist
    except ImportError:
        raise MnistError(
            f"no MNIST data: pass --data DIR, set MNIST_DIR, or put the IDX files in {SHARED_DIR}"
        ) from None
    try:
        (train_images, train_labels), (test_images, test_labels) = keras_mnist.load_data()
    except Exception as error:  # keras raises a bare Exception when the download fails
        raise MnistError(f"no MNIST data: downloading it failed ({str(error).splitlines()[0]}); "
                         f"pass --data DIR, set MNIST_DIR, or put the IDX files in {SHARED_DIR}") from None
    return Mnist(train_images, train_labels, test_images, test_labels, "keras.datasets.mnist", {})
