from django.urls import path

from . import views

app_name = "transfers"

urlpatterns = [
    path("<int:pk>/change/request/", views.request_change, name="request"),
    path("<int:pk>/change/inform-office/", views.inform, name="inform"),
    path("<int:pk>/change/outcome/", views.outcome, name="outcome"),
    path("<int:pk>/change/advice/", views.advice, name="advice"),
    path("<int:pk>/change/place/", views.place, name="place"),
    path("<int:pk>/change/stop/", views.stop, name="stop"),
    path("<int:pk>/change/resume/", views.resume, name="resume"),
    path("<int:pk>/change/handover/", views.handover, name="handover"),
    path("<int:pk>/change/wrap-up/", views.wrap_up, name="wrap_up"),
    path(
        "handovers/<int:handover_pk>/received/",
        views.handover_received,
        name="handover_received",
    ),
]
