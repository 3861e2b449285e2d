"""The WSGI application `manage.py bench` serves with gunicorn for its throughput figures: the
application's URLs plus the bare view (`stagebureau.bench_urls`). Never deployed."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagebureau.settings.base")
application = get_wsgi_application()
settings.ROOT_URLCONF = "stagebureau.bench_urls"
