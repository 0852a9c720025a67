# The serve image: the ONNX model, the page and the service; no deep-learning
# framework, nothing from train/ or export/. Build with `make image`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app
COPY requirements-serve.txt .
RUN pip install --no-cache-dir -r requirements-serve.txt

COPY contract.py pen.py lines.py ./
COPY serve/ serve/
COPY web/ web/
COPY artifacts/mnist.onnx artifacts/model.json artifacts/numbers.onnx artifacts/numbers.json artifacts/
COPY artifacts/confusion-matrix.png artifacts/training-curves.png artifacts/reliability.png artifacts/

# Corrections are kept in /app/data (SQLite, and the salt of addresses' hashes): a
# volume the service's user can write (compose.yaml mounts one there).
ENV DATA_DIR=/app/data
RUN useradd --create-home --uid 10001 reader && mkdir -p /app/data && chown reader:reader /app/data
VOLUME /app/data
USER reader

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=2)"

ENTRYPOINT ["python", "-m", "serve"]
