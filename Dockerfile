# CareRoute API server image.
#
#   docker build -t careroute .
#   docker run -p 8000:8000 -v careroute-data:/data careroute
#   docker run --rm -v careroute-data:/data careroute careroute keys create --role admin
#
# Defaults: SQLite in the /data volume and the bundled Columbus OSM extract
# (its road graph is built into the image, so the first start is fast). For
# production set CAREROUTE_DATABASE_URL=postgresql+psycopg://... and
# CAREROUTE_OSM_SOURCE to your region's extract (mount it, e.g. under /data).
# On start the container migrates the database, then serves on port 8000.
#
# Untested here: no Docker engine runs where this was written. Every
# dependency ships manylinux wheels for CPython 3.11, so no compiler is needed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CAREROUTE_DATABASE_URL=sqlite:////data/careroute.sqlite3 \
    CAREROUTE_CACHE_DIR=/home/careroute/.cache/careroute \
    NUMBA_CACHE_DIR=/home/careroute/.cache/numba

RUN useradd --create-home --uid 10001 careroute \
    && mkdir -p /data && chown careroute:careroute /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY routing ./routing
COPY geo ./geo
COPY migrations ./migrations
RUN pip install . && rm -rf /src

USER careroute
WORKDIR /home/careroute
# Parse the bundled extract once at build time (~15 s) into the graph cache.
RUN python -c "from app.settings import DEMO_OSM; import geo; geo.load_graph(DEMO_OSM)"
# Compile the ruin-and-recreate search once (~15 s) into numba's cache.
RUN python -c "from routing import sisr; sisr.warm_up()"

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["sh", "-c", "careroute db upgrade && exec careroute serve --host 0.0.0.0 --port 8000"]
