from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("", views.my_cases, name="my_cases"),
    path("new/", views.signal, name="signal"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/release/", views.release_confidential, name="release_confidential"),
]
