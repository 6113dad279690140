"""HTTP routes. WebSocket routes live in ``target/permissions/routing.py``."""

from django.urls import path

from target.permissions.views import LoginView, NotifyView, healthz

urlpatterns = [
    path("healthz", healthz),
    path("healthz/", healthz),
    path("api/auth/token/", LoginView.as_view()),
    path("api/permissions/notify/", NotifyView.as_view()),
]
