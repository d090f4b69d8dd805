from patients.records import record_urls
from therapy import views

app_name = "therapy"

urlpatterns = [pattern for kind in views.RECORD_KINDS for pattern in record_urls(kind)]
