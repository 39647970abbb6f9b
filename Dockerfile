# syntax=docker/dockerfile:1
# Production image: granian through serve.py (its settings: GRANIAN_* variables, defaults in
# serve.py), migrations applied by the entrypoint. gunicorn stays installed as the alternative:
# run the image with `gunicorn --config gunicorn.conf.py app:application` as its command.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=app.py \
    FLASK_CONFIG=production \
    PORT=8000

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when the lock files change.
# INSTALL_EXTRAS=true adds Sentry and CloudWatch (requirements-extras.txt); both files hold tracing.
ARG INSTALL_EXTRAS=false
COPY requirements.txt requirements-extras.txt ./
RUN if [ "$INSTALL_EXTRAS" = "true" ]; then \
        pip install --no-cache-dir -r requirements-extras.txt; \
    else \
        pip install --no-cache-dir -r requirements.txt; \
    fi

# A non-root account that owns nothing but the log directory.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/logs \
    && chown app:app /app/logs

COPY --chown=root:root . .

USER 10001:10001

EXPOSE 8000

# No curl in the slim image: Python itself asks the liveness probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=4)"]

ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["python", "serve.py"]
