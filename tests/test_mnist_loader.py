"""The MNIST loader: real files load; every broken case is one clear error."""

import gzip
import shutil

import numpy as np
import pytest

import mnist


def test_shared_files_load_and_verify(data):
    assert data.train_images.shape == (60_000, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (10_000, 28, 28)
    assert data.train_labels.shape == (60_000,) and set(np.unique(data.test_labels)) == set(range(10))
    assert data.md5 == {name: md5 for name, (_, _, md5) in mnist.FILES.items()}


@pytest.fixture
def copy_of_data(tmp_path):
    for name in mnist.FILES:
        shutil.copy(mnist.SHARED_DIR / f"{name}.gz", tmp_path)
    return tmp_path


def test_uncompressed_files_load(copy_of_data):
    name = "t10k-labels-idx1-ubyte"
    (copy_of_data / name).write_bytes(gzip.decompress((copy_of_data / f"{name}.gz").read_bytes()))
    (copy_of_data / f"{name}.gz").unlink()
    assert mnist.load(copy_of_data).test_labels[:3].tolist() == [7, 2, 1]


def test_md5_mismatch_names_file_and_expected_value(copy_of_data):
    path = copy_of_data / "t10k-labels-idx1-ubyte.gz"
    labels = bytearray(gzip.decompress(path.read_bytes()))
    labels[100] = (labels[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(labels)))
    with pytest.raises(mnist.MnistError, match=r"t10k-labels-idx1-ubyte: md5 .* expected 27ae3e4e09519cfbb04c329615203637"):
        mnist.load(copy_of_data)


def test_truncated_gzip_is_a_clear_error(copy_of_data):
    path = copy_of_data / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(mnist.MnistError, match=r"train-images-idx3-ubyte.gz: cannot be read"):
        mnist.load(copy_of_data)


def test_truncated_raw_file_fails_its_md5(copy_of_data):
    name = "t10k-images-idx3-ubyte"
    (copy_of_data / name).write_bytes(gzip.decompress((copy_of_data / f"{name}.gz").read_bytes())[:5000])
    (copy_of_data / f"{name}.gz").unlink()
    with pytest.raises(mnist.MnistError, match=r"t10k-images-idx3-ubyte: md5 .* expected"):
        mnist.load(copy_of_data)


def test_missing_file_is_named(copy_of_data):
    (copy_of_data / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(mnist.MnistError, match=r"missing train-labels-idx1-ubyte.gz"):
        mnist.load(copy_of_data)


def test_missing_directory_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(mnist.MnistError, match=r"nowhere does not exist"):
        mnist.load()


def test_a_failed_download_is_one_clear_error(monkeypatch):
    """With no files anywhere, keras downloads MNIST; offline, that fails as keras
    does (here without trying the network: a test never downloads)."""
    from keras.datasets import mnist as keras_mnist

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: "
                        "None -- [Errno -2] Name or service not known")
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setattr(mnist, "SHARED_DIR", mnist.SHARED_DIR / "nowhere")
    monkeypatch.setattr(keras_mnist, "load_data", offline)
    with pytest.raises(mnist.MnistError, match=r"downloading it failed \(URL fetch failure .*; pass --data DIR"):
        mnist.load()


def test_wrong_header_is_refused():
    with pytest.raises(mnist.MnistError, match=r"not an IDX file of 10000 records"):
        mnist._parse_idx(b"\x00\x00\x08\x03" + b"\x00" * 12, "t10k-labels-idx1-ubyte", 0x801, 10_000)
