from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("access-log/", views.access_log, name="access_log"),
    path("access-log/<int:student_pk>/", views.student_log, name="student_log"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data.json", views.my_data_json, name="my_data_json"),
    path("students/<int:student_pk>/data/", views.student_data, name="student_data"),
    path("students/<int:student_pk>/data.json", views.student_data_json, name="student_data_json"),
]
