"""The production stack: nginx, buffering clients, in front of the service (gunicorn)."""
