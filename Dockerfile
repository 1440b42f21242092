# One image for every Fleetcare service (docker-compose.yml picks the sub-command):
#   docker build -t fleetcare . && docker run --rm fleetcare --help
FROM python:3.11.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH

# uv at the version the lock file was written with.
RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them. The
# services need neither the dev tools nor the notebooks group (Jupyter, lifelines).
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project

COPY fleetcare ./fleetcare
COPY gateways ./gateways
COPY ingest ./ingest
COPY features ./features
COPY models ./models
COPY scheduler ./scheduler
COPY backtest ./backtest
COPY bench ./bench
COPY app ./app
RUN uv sync --frozen --no-default-groups

# Run as an unprivileged user; FLEETCARE_DATA_DIR (a volume in docker-compose.yml) is its.
RUN useradd --system --uid 10001 --home-dir /var/lib/fleetcare --create-home fleetcare
USER fleetcare
ENV FLEETCARE_DATA_DIR=/var/lib/fleetcare
WORKDIR /var/lib/fleetcare

ENTRYPOINT ["fleetcare"]
CMD ["--help"]
