# Inventory Portal: one image for web, worker, beat and the sandboxes (the command differs).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/app/var \
    MEDIA_ROOT=/app/media

WORKDIR /app

# Dependencies first (cached while pyproject.toml is unchanged); runtime dependencies only.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

RUN useradd --create-home --uid 10001 portal \
    && mkdir -p /app/var /app/media \
    && DJANGO_DEBUG=0 SECRET_KEY=collectstatic-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz \
       python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R portal:portal /app/var /app/media

USER portal
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz/', timeout=4)" || exit 1

CMD ["gunicorn", "inventory_portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-", "--forwarded-allow-ips", "*"]
