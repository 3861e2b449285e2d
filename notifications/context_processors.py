from .services import unread_count


def inbox(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # stagebureau.backends.RequestUserBackend counts them with the user's own query.
    count = getattr(user, "_unread_notifications", None)
    return {"unread_notifications": unread_count(user) if count is None else count}
