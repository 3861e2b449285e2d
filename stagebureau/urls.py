from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import auth_views as signin_views
from .health import health
from .views import set_language

urlpatterns = [
    # The person's home ("") and the case page ("cases/<pk>/").
    path("", include("portal.urls")),
    path("login/", signin_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Sign-in link by e-mail (django-sesame); the link itself only signs in on POST.
    path("login/link/", signin_views.request_sign_in_link, name="sign_in_link"),
    path("login/link/sent/", signin_views.sign_in_link_sent, name="sign_in_link_sent"),
    path("login/link/use/", signin_views.sign_in_with_link, name="sign_in_with_link"),
    # Single sign-on (OpenID Connect, e.g. SURFconext): 404 unless OIDC_ENABLED.
    path(
        "oidc/authenticate/",
        signin_views.OIDCAuthenticateView.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/",
        signin_views.OIDCCallbackView.as_view(),
        name="oidc_authentication_callback",
    ),
    path("cases/", include("cases.urls")),
    path("cases/", include("conversations.urls")),
    path("cases/", include("transfers.urls")),
    path("cases/", include("attachments.urls")),
    path("cases/", include("office.urls")),
    path("cases/office/", include("semester.urls")),
    path("inbox/", include("notifications.urls")),
    path("privacy/", include("privacy.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("health/", health, name="health"),
]
