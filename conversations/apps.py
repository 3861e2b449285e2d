from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = _("Conversations")

    def ready(self) -> None:
        from cases.events import subscribe

        from .services import close_actions_with_the_case

        # Actions still open when a case closes are closed with it.
        subscribe(close_actions_with_the_case)
