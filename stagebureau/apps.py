from django.apps import AppConfig


class StagebureauConfig(AppConfig):
    """The project package as an app: sign-in signals and the sign-in link task."""

    name = "stagebureau"
    verbose_name = "Stagebureau"

    def ready(self) -> None:
        from . import signin  # noqa: F401  (connects the signal receivers)
