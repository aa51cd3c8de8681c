# syntax=docker/dockerfile:1
# The service's image: wheels built in one stage, installed into a slim run stage with no compilers.
# tests/deploy/test_image.py runs this file's CMD with its ENV on the test machine, and hadolint lints it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /build
COPY requirements.txt .
# Every pinned requirement as a wheel (binary wheels exist for all on x86_64 and arm64; sdists would build here).
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements.txt
# A CJK font for the report charts' Chinese, Japanese and Korean names (app/web/reports/fonts.py looks for this file).
# Installed here and copied as one file, so the run stage runs no apt-get.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-zenhei=0.9.45-8 \
    && rm -rf /var/lib/apt/lists/*

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# Installed from the wheel stage only (--no-index): nothing is compiled or fetched here, and the wheels stay out of
# the image's layers (a bind mount, not a COPY).
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    python -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --no-index --find-links=/wheels -r /tmp/requirements.txt
# A fixed numeric id, so Kubernetes' runAsNonRoot can check it without a user database.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data
COPY --from=wheels /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc
WORKDIR /app
# The code and the bundled synthetic dataset stay root's: the app user reads them and writes only under /data and /tmp.
COPY main.py train_model.py ./
COPY app ./app
COPY data/raw/mall_customers.csv ./data/raw/mall_customers.csv
# Models, processed data, runs and the SQLite prediction log (when no DATABASE_URL is given) live on the /data volume;
# a first start trains the default model there. PORT and WORKERS are read by `python main.py` (app/core/config.py).
# MPLCONFIGDIR: the app user's home (/app) is read-only, so matplotlib would print plain-text warnings into the JSON
# logs and rebuild its font cache in every process; /tmp is writable (an emptyDir in Kubernetes).
ENV HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=2 \
    LOG_FORMAT=json \
    MODEL_DIR=/data/models \
    PROCESSED_DIR=/data/processed \
    DATABASE_URL=sqlite:////data/prediction_log.sqlite3 \
    SCORE_RESULTS_DIR=/data/results \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics \
    MPLCONFIGDIR=/tmp/matplotlib
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
# The image has no curl: Python asks /livez (liveness only: a missing model must not get the container restarted).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/livez', timeout=4)"]
CMD ["python", "main.py"]
