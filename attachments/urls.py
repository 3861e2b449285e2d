from django.urls import path

from . import views

app_name = "attachments"

urlpatterns = [
    path("<int:pk>/attachments/new/", views.add_attachment, name="add"),
    path("attachments/<int:attachment_pk>/", views.download, name="download"),
]
