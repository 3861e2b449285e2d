"""The authentication backend: the user of a request in ONE query.

In the project package because it joins three apps: the user (cases), the unread count
(notifications) and the privacy officer's permission (privacy).

Django's ModelBackend loads the user; every page then asks for the user's global roles (a
query on the groups) and the base template for the number of unread notifications (a count).
`get_user` folds both (a global role is held by the group or as an active deputy, see
`cases.models.Deputy`), and whether the user is the privacy officer, into the user's query as
annotations, so they are read once per request and never go stale across requests (a change
of groups counts from the next request on).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cases.models import GLOBAL_ROLES, Deputy, Placement, User
from notifications.models import Notification
from notifications.selectors import UNREAD_CAP, CappedCount
from privacy.models import ACCESS_LOG_PERMISSION

ROLE_FLAG = "_has_global_role_{}"
UNREAD = "_unread_notifications"
PRIVACY_OFFICER = "_is_privacy_officer"
MENTOR_TO_ASSIGN = "_has_mentor_to_assign"  # read by User.has_mentor_to_assign


def user_with_request_data(today: dt.date | None = None):
    """Users annotated with their global roles, whether they are the privacy officer (read by
    `User.is_privacy_officer`) and their unread notification count."""
    memberships = User.groups.through.objects.filter(user_id=OuterRef("pk"))
    # A deputy named by the office holds the role while active (cases.models.Deputy).
    deputyships = Deputy.objects.active(today or timezone.localdate()).filter(
        person_id=OuterRef("pk")
    )
    # At most UNREAD_CAP rows are counted (the badge says "99+"), on the inbox index: the cost
    # does not grow with the inbox (an office member had 41,307 unread notifications).
    unread = (
        Notification.objects.filter(recipient_id=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("pk")[:UNREAD_CAP]
    )
    app_label, codename = ACCESS_LOG_PERMISSION
    access_log = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return User._default_manager.annotate(
        **{
            ROLE_FLAG.format(role): Exists(memberships.filter(group__name=role))
            | Exists(deputyships.filter(role=role))
            for role in GLOBAL_ROLES
        },
        **{
            PRIVACY_OFFICER: Exists(access_log.filter(group__user=OuterRef("pk")))
            | Exists(access_log.filter(user=OuterRef("pk")))
        },
        **{UNREAD: CappedCount(unread)},
        # A school trainer with a placement whose mentor is to be assigned (the home page).
        **{
            MENTOR_TO_ASSIGN: Exists(
                Placement.objects.filter(
                    school_trainer_id=OuterRef("pk"),
                    mentor__isnull=True,
                    status=Placement.Status.ACTIVE,
                )
            )
        },
    )


# No user has this pk: it marks the pk's place among the compiled query's parameters.
_PK_MARK = -8_070_450_532_247_928_832


@lru_cache(maxsize=4)
def _request_user_sql(today: dt.date) -> tuple[str, tuple]:
    """The request user's query compiled once per day (the deputyships hold by the date):
    building and compiling its eleven subqueries was most of a bare page's time (#17)."""
    sql, params = user_with_request_data(today).filter(pk=_PK_MARK).query.sql_with_params()
    assert params.count(_PK_MARK) == 1, "the pk must be the query's only marked parameter"
    return sql, tuple(params)


def request_user(user_id) -> User | None:
    """The user with the request's data (see the module's docstring), in ONE query whose SQL
    is made once a day; None when there is no such user."""
    sql, params = _request_user_sql(timezone.localdate())
    params = tuple(user_id if p == _PK_MARK else p for p in params)
    return next(iter(User._default_manager.raw(sql, params)), None)


class RequestUserBackend(ModelBackend):
    def get_user(self, user_id):
        user = request_user(user_id)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None
