from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeadlinesConfig(AppConfig):
    name = "deadlines"
    verbose_name = _("Deadlines")

    def ready(self) -> None:
        # Django loads apps.py before any model, so the modules that import models can only be
        # imported here (the arrow is the same: deadlines -> notifications, downwards).
        from notifications.labels import register_labels, register_reminders

        from .rules import event_labels, reminders

        # The inbox and the e-mails read the deadline events' labels and wording as data.
        register_labels(event_labels())
        register_reminders(reminders())
