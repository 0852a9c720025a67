"""The three pictures of a training run: learning curves, the test confusion matrix and
the reliability diagram."""

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np

import contract


def training_curves(history: dict, path) -> None:
    """Loss and accuracy per epoch, training beside validation."""
    epochs = range(1, len(history["loss"]) + 1)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        ax.plot(epochs, history[key], label="training (augmented)")
        ax.plot(epochs, history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(confusion, path) -> None:
    """Counts of true digit (rows) against predicted digit (columns) on the test set."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.imshow(confusion, cmap="Blues", norm=matplotlib.colors.LogNorm(vmin=1))
    for (true, predicted), count in np.ndenumerate(confusion):
        if count:
            ax.text(predicted, true, count, ha="center", va="center", fontsize=8,
                    color="white" if true == predicted else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Test set: {confusion.trace()} of {confusion.sum()} right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def reliability(confidences: np.ndarray, correct: np.ndarray, path, bins: int = 15) -> None:
    """How often the answer is right against how sure the model said it was, in
    confidence bins: a calibrated model's bars sit on the diagonal. Beside it, how
    many answers fall in each bin (nearly all near 1, so on a log scale)."""
    counts, _, accuracy = contract.confidence_bins(confidences, correct, bins)
    edges = np.arange(bins) / bins
    fig, (ax, count_ax) = plt.subplots(1, 2, figsize=(10, 4.5))
    ax.bar(edges[counts > 0], accuracy[counts > 0], width=1 / bins, align="edge", edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="calibrated")
    ax.set_xlabel("confidence")
    ax.set_ylabel("share right")
    ax.set_title(f"Test set: {len(confidences)} digits")
    ax.legend()
    count_ax.bar(edges, counts, width=1 / bins, align="edge", edgecolor="black")
    count_ax.set_yscale("log")
    count_ax.set_xlabel("confidence")
    count_ax.set_title("answers per bin")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
