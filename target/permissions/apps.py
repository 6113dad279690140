"""App config: connects the model signals that turn data changes into pushes."""

from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "target.permissions"
    label = "permissions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from target.permissions import signals

        signals.connect()
