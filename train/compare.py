"""Augmentations measured one by one: `python -m train.compare`.

Each run trains the digit model with pose augmentation (train/augment.py) and one
more change, or all of them in the last run, on the first 20,000 training digits for
4 epochs, and reports its accuracy on the validation split only (`train.train
--compare`: the test set is not read). Writes artifacts/augmentations.json, which the
README's table is made from. Short runs rank the changes; one full run with the chosen
ones makes the model.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import contract
from train import augment

RUNS = ("pose", "pose,aspect", "pose,shear", "pose,elastic", "pose,pen", ",".join(augment.CHOICES))
SHORT = ["--limit", "20000", "--epochs", "4"]


def main():
    runs = []
    for choices in RUNS:
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, "-m", "train.train", "--compare", *SHORT, "--augment", choices,
                            "--out", out], check=True)
            runs.append(json.loads((Path(out) / "compare.json").read_text()))
        print(runs[-1], flush=True)
    path = contract.ARTIFACTS / "augmentations.json"
    path.write_text(json.dumps({"settings": " ".join(SHORT), "runs": runs}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
