from django.urls import path

from . import views

app_name = "conversations"

urlpatterns = [
    path("<int:pk>/conversation/plan/", views.plan, name="plan"),
    path("<int:pk>/conversation/record/", views.record, name="record"),
    path("<int:pk>/actions/new/", views.add_action, name="add_action"),
    path("actions/<int:action_pk>/evaluate/", views.evaluate_action, name="evaluate_action"),
]
