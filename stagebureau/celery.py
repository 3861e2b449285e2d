import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stagebureau.settings.dev")

app = Celery("stagebureau")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker writes a heartbeat that /health/ reads (stagebureau/health.py). By name, so the
# module loads in the worker only, after Django is set up.
app.steps["consumer"].add("stagebureau.health:WorkerHeartbeat")
