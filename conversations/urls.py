from django.urls import path

from . import views

app_name = "conversations"

urlpatterns = [
    path("<int:pk>/conversation/plan/", views.plan, name="plan"),
    path("<int:pk>/conversation/plan-again/", views.plan_again, name="plan_again"),
    path("<int:pk>/conversation/record/", views.record, name="record"),
    path(
        "conversations/<int:conversation_pk>/reschedule/", views.reschedule, name="reschedule"
    ),
    path("conversations/<int:conversation_pk>/cancel/", views.cancel, name="cancel"),
    path(
        "conversations/<int:conversation_pk>/invitation.ics", views.calendar, name="calendar"
    ),
    path("conversations/<int:conversation_pk>/note/", views.note, name="note"),
    path(
        "conversations/<int:conversation_pk>/note.md", views.note_download, name="note_download"
    ),
    path("invitations/<int:invitation_pk>/briefing/", views.brief, name="brief"),
    path("invitations/<int:invitation_pk>/read/", views.confirm_read, name="confirm_read"),
    path("<int:pk>/actions/new/", views.add_action, name="add_action"),
    path("actions/<int:action_pk>/evaluate/", views.evaluate_action, name="evaluate_action"),
]
