from .selectors import unread_badge
from .services import unread_count


def inbox(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # stagebureau.backends.RequestUserBackend counts them with the user's own query.
    count = getattr(user, "_unread_notifications", None)
    count = unread_count(user) if count is None else count
    return {"unread_notifications": count, "unread_badge": unread_badge(count)}
