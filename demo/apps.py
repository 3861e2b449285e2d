from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo loader and the benchmark: the top-most layer, they may import every app."""

    name = "demo"
    verbose_name = _("Demo data and benchmark")
