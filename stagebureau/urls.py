from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from cases.views import home

from .health import health
from .views import set_language

urlpatterns = [
    path("", home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", include("cases.urls")),
    path("cases/", include("conversations.urls")),
    path("cases/", include("transfers.urls")),
    path("inbox/", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("health/", health, name="health"),
]
