"""Small Flask apps that tests and benchmarks serve through a real WSGI server (gunicorn)."""
