from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from cases.events import subscribe

        from .services import on_step

        # The outbox hears every step the core and the feature apps publish.
        subscribe(on_step)
