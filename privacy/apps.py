from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """The top layer's privacy duties: the access log, retention, a student's data export and
    the privacy officer's pages. Imports the apps below it; nothing imports it."""

    name = "privacy"
