from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Portal core"

    def ready(self):
        import core.timezones  # noqa: F401 - connects the login handler that loads the user's time zone
        from core.roles import sync_role_permissions

        # Permissions exist only after every app has migrated, so the role groups get
        # theirs here (the groups themselves come from a data migration).
        post_migrate.connect(sync_role_permissions, dispatch_uid="core.sync_role_permissions")
