"""Write the measured figures into README.md: `python -m bench.report`.

The README's tables are generated from artifacts/metrics.json, artifacts/model.json
and bench/results.json, between marker comments, so no figure is ever typed by
hand; a test fails when the README and those files disagree. `make export` and
`make bench` run this after they write their files.
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def model_table(metrics: dict, card: dict) -> str:
    per_class = " · ".join(f"{d}: {a:.2%}" for d, a in enumerate(metrics["per_class_accuracy"]))
    rows = [
        ("Test accuracy (10,000 MNIST test images, Keras)", f"**{metrics['test_accuracy']:.2%}** "
                                                            f"({metrics['test_errors']} errors)"),
        ("Test accuracy in onnxruntime (the served model)", f"{card['test_accuracy']:.2%}"),
        ("ONNX vs Keras, max probability difference", f"{card['parity']['max_probability_difference']:.1e}"),
        ("Best validation accuracy (5,000 held-out training images)",
         f"{metrics['best_val_accuracy']:.2%} at epoch {metrics['best_epoch']} of {metrics['epochs']}"),
        ("Parameters / ONNX file", f"{metrics['parameters']:,} / {card['bytes'] / 1e6:.2f} MB"),
        ("Training wall time", f"{metrics['wall_time_seconds'] / 60:.1f} min on {metrics['cpu_count']} CPU cores"),
        ("Per-class test accuracy", per_class),
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def replace_block(text: str, name: str, content: str) -> str:
    """Swaps what stands between <!-- name:start --> and <!-- name:end -->."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
    return pattern.sub(lambda m: m.group(1) + content + "\n" + m.group(2), text)


def rendered_readme() -> str:
    """README.md as it should read with the figures on disk."""
    text = README.read_text()
    metrics = json.loads((ROOT / "artifacts" / "metrics.json").read_text())
    card = json.loads((ROOT / "artifacts" / "model.json").read_text())
    return replace_block(text, "model", model_table(metrics, card))


def main():
    README.write_text(rendered_readme())
    print(f"updated {README}")


if __name__ == "__main__":
    main()
