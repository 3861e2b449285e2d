from django.urls import path

from . import views

app_name = "office"

# Mounted under cases/ (the paths the office has always used).
urlpatterns = [
    path("office/", views.dashboard, name="dashboard"),
    path("office/cases/", views.office_list, name="office_list"),
    path("office/cases/export.<str:fmt>", views.office_export, name="office_export"),
    path("office/pictures/", views.report, name="report"),
    path("office/steering-report.<str:fmt>", views.steering_report, name="steering_report"),
    path("office/deputies/", views.deputies, name="deputies"),
    path("isop-advice/", views.isop_queue, name="isop_queue"),
    path("change-worklist/", views.worklist, name="worklist"),
]
