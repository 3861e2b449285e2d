from django.urls import path

from . import views

app_name = "transfers"

urlpatterns = [
    path("<int:pk>/change/request/", views.RequestChangeStep.as_view(), name="request"),
    path("<int:pk>/change/inform-office/", views.InformOfficeStep.as_view(), name="inform"),
    path("<int:pk>/change/outcome/", views.ReportOutcomeStep.as_view(), name="outcome"),
    path("<int:pk>/change/advice/", views.GiveAdviceStep.as_view(), name="advice"),
    path("<int:pk>/change/place/", views.PlaceStudentStep.as_view(), name="place"),
    path("<int:pk>/change/stop/", views.StopInternshipStep.as_view(), name="stop"),
    path("<int:pk>/change/resume/", views.ResumeStep.as_view(), name="resume"),
    path("<int:pk>/change/handover/", views.ConfirmHandoverStep.as_view(), name="handover"),
    path("<int:pk>/change/wrap-up/", views.WrapUpStep.as_view(), name="wrap_up"),
    path("<int:pk>/study/", views.StudyStepView.as_view(), name="study_step"),
    path(
        "<int:pk>/change/wrap-up/agree/",
        views.ConfirmWrapUpStep.as_view(),
        name="wrap_up_confirm",
    ),
    path("<int:pk>/change/abandon/", views.AbandonChangeStep.as_view(), name="abandon"),
    path(
        "<int:pk>/change/conversation/accept/",
        views.AcceptConversationStep.as_view(),
        name="accept_conversation",
    ),
    path("<int:pk>/change/decision/", views.DecideStep.as_view(), name="decide"),
    path("<int:pk>/stop-now/", views.StopNowStep.as_view(), name="stop_now"),
    path(
        "<int:pk>/change/stop/definitive/",
        views.MakeDefinitiveStep.as_view(),
        name="make_definitive",
    ),
    path(
        "handovers/<int:handover_pk>/received/",
        views.handover_received,
        name="handover_received",
    ),
]
