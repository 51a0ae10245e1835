from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "CSV imports"

    def ready(self):
        from imports import inventory_importers  # noqa: F401  (registers the parts and inventory importers)
