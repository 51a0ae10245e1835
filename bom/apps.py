from django.apps import AppConfig


class BomConfig(AppConfig):
    name = "bom"
    verbose_name = "Bills of materials"

    def ready(self):
        import bom.importers  # noqa: F401 - registers the BOM CSV importer
