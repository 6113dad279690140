"""HTTP: Django's own login view (form + CSRF, sets the session cookie). No notify endpoint."""

from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.urls import path


def home(request: HttpRequest) -> HttpResponse:
    who = request.user.username if request.user.is_authenticated else "anonymous"
    return HttpResponse(f"inbox: signed in as {who}\n", content_type="text/plain")


urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("", home),
]
