from core.models import Preferences


def set_time_zone(user, name: str) -> Preferences:
    """Record the user's time zone ('' = the site's)."""
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults={"time_zone": name})
    return preferences
