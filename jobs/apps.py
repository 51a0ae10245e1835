from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self):
        from jobs.stages import ensure_default_stages

        post_migrate.connect(ensure_default_stages, sender=self, dispatch_uid="jobs.ensure_default_stages")
