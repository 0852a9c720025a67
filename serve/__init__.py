"""The serve stage: the digit model behind an HTTP API, with no deep-learning framework."""

import os

# One BLAS thread per process, set before numpy loads: the server already runs a
# worker per core, and OpenBLAS's own threads, spinning in every worker for the
# small matrix products of preprocessing, cut throughput at 4 connections by two thirds.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

MAX_BODY_BYTES = 2 * 1024 * 1024  # a request body past this is refused (413)
