from django.apps import AppConfig


class OfficeConfig(AppConfig):
    """The internship office's pages: dashboard, lists, exports, pictures, steering report,
    the change worklist and the ISOP owner's advice queue (the top layer: it reads every app
    below it, and nothing imports it)."""

    name = "office"
