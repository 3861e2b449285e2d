from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.my_cases, name="my_cases"),
    path("new/", views.signal, name="signal"),
    path("<int:pk>/resolve/", views.ResolveStep.as_view(), name="resolve"),
    path("<int:pk>/withdraw/", views.WithdrawStep.as_view(), name="withdraw"),
    path("<int:pk>/people/", views.ReassignStep.as_view(), name="reassign"),
    path("<int:pk>/reopen/", views.ReopenStep.as_view(), name="reopen"),
    path("<int:pk>/release/", views.release_confidential, name="release_confidential"),
    path("placements/<int:placement_pk>/mentor/", views.assign_mentor, name="assign_mentor"),
]
