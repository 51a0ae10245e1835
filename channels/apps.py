from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "channels"
    label = "channels"
    verbose_name = "Marketplace channels"

    def ready(self):
        # Celery autodiscovers only `tasks` modules; the export task lives apart from the sync engine's.
        import channels.export_tasks  # noqa: F401
        import channels.importers  # noqa: F401 - registers the mapping and open-order CSV importers
