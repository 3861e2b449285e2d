from django.urls import path

from . import dashboard, views

app_name = "cases"

urlpatterns = [
    path("", views.my_cases, name="my_cases"),
    path("new/", views.signal, name="signal"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/release/", views.release_confidential, name="release_confidential"),
    # The internship office
    path("office/", dashboard.dashboard, name="dashboard"),
    path("office/cases/", dashboard.office_list, name="office_list"),
    path(
        "office/cases/export.<str:fmt>",
        dashboard.office_export,
        name="office_export",
    ),
    path("office/pictures/", dashboard.report, name="report"),
    path(
        "office/steering-report.<str:fmt>",
        dashboard.steering_report,
        name="steering_report",
    ),
]
