# The application image of docker-compose.yml: the web (scripts/start-web), worker
# (scripts/start-worker) and beat (scripts/start-beat) services all run it.
#
#   docker build -t stagebureau .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=stagebureau.settings.production \
    STAGEBUREAU_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000

# No system packages: psycopg's binary wheel brings libpq, and the compiled translations (.mo)
# are in the repository, so neither gettext nor a compiler is needed.
RUN useradd --system --uid 1000 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin stagebureau

WORKDIR /app

# The dependencies first: a layer that changes only when pyproject.toml does.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" >/tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project. It is installed in place (editable): the settings find the templates,
# static files and translations next to the packages, in /app. The code stays owned by root
# (the application cannot change it); only /app/var, where the beat's schedule lives, is
# writable. The static files are collected, hashed and compressed now, for WhiteNoise.
COPY . .
RUN pip install --no-deps -e . \
    && SECRET_KEY=build-only-not-secret ALLOWED_HOSTS=build.invalid \
        python manage.py collectstatic --no-input -v 0 \
    && test -f "$STATIC_ROOT/staticfiles.json" \
    && mkdir -p /app/var/beat \
    && chown -R stagebureau:stagebureau /app/var

USER stagebureau
EXPOSE 8000

# The web server answers and reaches the database and the broker (not the worker: the worker
# starts after the web's migrations and has a healthcheck of its own in docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "stagebureau.health", "--http"]

CMD ["scripts/start-web"]
