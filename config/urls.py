from django.contrib import admin
from django.urls import include, path

from chat.views import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("voice.urls")),
    path("", include("chat.urls")),
]
