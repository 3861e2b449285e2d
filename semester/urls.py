from django.urls import path

from . import views

app_name = "semester"

# Mounted under cases/office/ (the office's pages).
urlpatterns = [
    path("import/", views.upload, name="import"),
    path("import/preview/", views.preview, name="import_preview"),
    path("import/confirm/", views.confirm, name="import_confirm"),
]
