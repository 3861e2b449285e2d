# The application image for docker-compose.yml: web (gunicorn), worker and beat use it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=stagebureau.settings.base \
    STAGEBUREAU_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

# gettext: compilemessages, so the Dutch translations are always compiled from the .po files.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (a layer that changes only with pyproject.toml).
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" >/tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
RUN pip install --no-deps -e . \
    && SECRET_KEY=build-only python manage.py compilemessages --ignore=.venv \
    && SECRET_KEY=build-only python manage.py collectstatic --noinput \
    && useradd --system --create-home --uid 1000 stagebureau \
    && mkdir -p /app/var \
    && chown -R stagebureau /app/var

USER stagebureau
EXPOSE 8000
CMD ["gunicorn", "stagebureau.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
