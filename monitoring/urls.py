from monitoring import views
from patients.records import record_urls

app_name = "monitoring"

urlpatterns = [pattern for kind in views.RECORD_KINDS for pattern in record_urls(kind)]
