"""The log-in forms (the team's and the Django admin's), with the user
name's length checked on the server.

Django's AuthenticationForm sets only the input's `maxlength` in the page;
a longer name posted anyway reached django-axes, which records every failed
attempt in a 255-character column: a 500 on PostgreSQL. Here a name longer
than any account can have is refused like a wrong password would be
(the usual message), before anyone tries to authenticate it.
"""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template import loader

from requests_app.forms.hygiene import InputHygiene
from requests_app.mail import password_reset

USERNAME_MAX_LENGTH = get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length


class _UsernameLengthChecked:
    def clean_username(self) -> str:
        username = self.cleaned_data.get("username") or ""
        if len(username) > USERNAME_MAX_LENGTH:
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        return username


class LoginForm(InputHygiene, _UsernameLengthChecked, AuthenticationForm):
    pass


class AdminLoginForm(InputHygiene, _UsernameLengthChecked, AdminAuthenticationForm):
    pass


class ResetForm(InputHygiene, PasswordResetForm):
    """Django's reset form, writing its e-mail to the outbox instead of
    sending it in the request (`requests_app.mail.password_reset`)."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body_text = loader.render_to_string(email_template_name, context)
        body_html = loader.render_to_string(html_email_template_name, context) if html_email_template_name else ""
        password_reset.queue(to_email, subject, body_text, body_html)
