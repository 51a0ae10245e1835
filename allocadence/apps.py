from django.apps import AppConfig


class AllocadenceConfig(AppConfig):
    name = "allocadence"
