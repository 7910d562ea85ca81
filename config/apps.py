from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """The admin, on a site that limits failed sign-ins (``chat.http.pages.AdminSite``)."""

    default_site = "chat.http.pages.AdminSite"

    def ready(self) -> None:
        super().ready()
        from config import checks  # noqa: F401 - registers the deploy checks
