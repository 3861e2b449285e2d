from django.urls import path

from . import views

app_name = "conversations"

urlpatterns = [
    path("<int:pk>/conversation/plan/", views.PlanConversationStep.as_view(), name="plan"),
    path("<int:pk>/conversation/plan-again/", views.PlanAgainStep.as_view(), name="plan_again"),
    path("<int:pk>/conversation/record/", views.RecordConversationStep.as_view(), name="record"),
    path(
        "<int:pk>/conversation/follow-up/",
        views.PlanFollowUpStep.as_view(),
        name="plan_follow_up",
    ),
    path(
        "conversations/<int:conversation_pk>/record/",
        views.RecordFollowUpStep.as_view(),
        name="record_follow_up",
    ),
    path(
        "conversations/<int:conversation_pk>/reschedule/",
        views.RescheduleStep.as_view(),
        name="reschedule",
    ),
    path("conversations/<int:conversation_pk>/cancel/", views.CancelStep.as_view(), name="cancel"),
    path("conversations/<int:conversation_pk>/invitation.ics", views.calendar, name="calendar"),
    path("conversations/<int:conversation_pk>/note/", views.note, name="note"),
    path("conversations/<int:conversation_pk>/note.md", views.note_download, name="note_download"),
    path("invitations/<int:invitation_pk>/briefing/", views.BriefStep.as_view(), name="brief"),
    path("invitations/<int:invitation_pk>/read/", views.confirm_read, name="confirm_read"),
    path("<int:pk>/actions/new/", views.AddActionStep.as_view(), name="add_action"),
    path(
        "actions/<int:action_pk>/evaluate/",
        views.EvaluateActionStep.as_view(),
        name="evaluate_action",
    ),
]
