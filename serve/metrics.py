"""What the service tells Prometheus: traffic, latency, the model's time and answers.

gunicorn runs several worker processes, each answering a share of the requests, so
the metrics use prometheus_client's multiprocess mode: every worker writes its
values to files in PROMETHEUS_MULTIPROC_DIR (made by `python -m serve` before the
workers start) and /metrics adds them up, whichever worker it reaches. Without
that directory (the app run on its own) the process's own values are served.
"""

import os

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1)

REQUESTS = Counter("digit_reader_http_requests_total", "HTTP requests answered.",
                   ["route", "method", "status"])
REQUEST_SECONDS = Histogram("digit_reader_http_request_duration_seconds", "Time to answer an HTTP request.",
                            ["route", "method", "status"], buckets=LATENCY_BUCKETS)
INFERENCE_SECONDS = Histogram("digit_reader_model_inference_seconds",
                              "Time of one onnxruntime call (one image, or a whole batch).", buckets=LATENCY_BUCKETS)
PREDICTIONS = Counter("digit_reader_predictions_total", "Digits answered, by digit.", ["digit"])
VERDICTS = Counter("digit_reader_verdicts_total", "Answers by verdict: a rise of refusals is a sign of drift, or of abuse.",
                   ["verdict"])
CONFIDENCE = Histogram("digit_reader_prediction_confidence",
                       "Probability of the answered digit: a shift here is the first sign of drift.",
                       buckets=CONFIDENCE_BUCKETS)
MODEL_INFO = Gauge("digit_reader_model_info", "The served model (1 for the model each live worker serves).",
                   ["model"], multiprocess_mode="livemax")


def exposition() -> bytes:
    """The Prometheus text format of every worker's metrics together."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return prometheus_client.generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return prometheus_client.generate_latest(registry)


CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
