"""bench/candidate.py, which measures digit models on validation to choose one."""

import dataclasses

import contract
from bench.candidate import KerasDigits, validation_figures, validation_set
from bench.numbers import served_models


def test_a_candidate_is_measured_as_the_service_reads_it_and_never_on_the_test_set(data):
    """The served model's own .keras file, measured as a candidate, gives the figures
    its ONNX export gives in the service's reader; with the test set taken away."""
    held = validation_set(dataclasses.replace(data, test_images=None, test_labels=None), count=300, per_spacing=40)
    number_model, served = served_models()
    as_served = validation_figures(served, number_model, held)
    as_candidate = validation_figures(KerasDigits(contract.ARTIFACTS / contract.DIGITS.keras_file), number_model, held)
    assert as_candidate == as_served
    assert as_served["errors"] <= 3 and as_served["drawn_wrong"] <= 3 and 0 < as_served["log_loss"] < 0.05
    assert as_served["apart_right"] >= 38 and as_served["close_right"] >= 38
