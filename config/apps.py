from django.apps import AppConfig


class OssaConfig(AppConfig):
    """The project package as an app, so that its signal receivers are connected at start-up
    (the time of sign-in kept for the absolute session lifetime, config/session.py) rather than
    when its middleware happens to be imported."""

    name = "config"
    label = "ossa_config"
    verbose_name = "Ossa configuration"

    def ready(self) -> None:
        from config import session  # noqa: F401 — connects user_logged_in
