from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The person's home page and the case page (top layer: nothing imports it)."""

    name = "portal"
