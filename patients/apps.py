from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = "Clinics and patients"

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started  # noqa: PLC0415

        from patients import request_route  # noqa: PLC0415

        # The access log names the page of each read (patients.access_log).
        request_started.connect(request_route.remember_request_path, dispatch_uid="ossa-route")
        request_finished.connect(request_route.forget_request_path, dispatch_uid="ossa-route")
