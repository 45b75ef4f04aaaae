from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from requests_app.forms.login import LoginForm
from requests_app.views import password_link
from requests_app.views.password_reset import PasswordResetView

accounts = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # A link to choose a first password (manage.py create_leader).
    path("welcome/<str:token>/", password_link.password_link, name="password_link"),
]

urlpatterns = [
    path("", include("requests_app.urls")),
    path("api/v1/", include("requests_app.api.urls")),
    path("accounts/", include(accounts)),
    path("admin/", admin.site.urls),
]

# A database that is away is a 503 page, not a 500 or a 400 (requests_app.web.middleware).
handler400 = "requests_app.web.middleware.bad_request"
handler500 = "requests_app.web.middleware.server_error"
