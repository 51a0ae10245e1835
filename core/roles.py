"""The four roles and the model permissions each holds.

Groups are created by a data migration; permissions are attached after every migrate
(they exist only once all apps have migrated). Apps add their codenames here, in one
place, so the role matrix can be read at a glance.
"""

COORDINATOR = "Coordinator"
OPERATOR = "Operator"
MANAGER = "Manager"
ADMIN = "Admin"
ROLES = (COORDINATOR, OPERATOR, MANAGER, ADMIN)

_READ_ALL = [
    "inventory.view_part",
    "inventory.view_warehouse",
    "inventory.view_location",
    "inventory.view_inventoryrow",
    "inventory.view_movement",
    "bom.view_billofmaterials",
    "jobs.view_job",
    "channels.view_channel",
    "channels.view_skumapping",
    "channels.view_syncrecord",
    "purchasing.view_purchaseorder",
    "purchasing.view_supplier",
    "core.view_syncrun",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    COORDINATOR: _READ_ALL
    + [
        "jobs.add_job",
        "jobs.change_job",
        "jobs.release_job",
        "jobs.cancel_job",
        "jobs.save_with_shortfall_job",
    ],
    OPERATOR: _READ_ALL + ["jobs.advance_job"],
    MANAGER: _READ_ALL
    + [
        "inventory.add_part",
        "inventory.change_part",
        "inventory.adjust_stock",
        "inventory.import_inventory",
        "inventory.export_inventory",
        "bom.add_billofmaterials",
        "bom.change_billofmaterials",
        "bom.delete_billofmaterials",
        "channels.export_syncrecord",
        "channels.change_skumapping",
        "channels.add_skumapping",
        "channels.set_open_orders",
        "purchasing.add_purchaseorder",
        "purchasing.change_purchaseorder",
        "purchasing.receive_purchaseorder",
        "purchasing.add_supplier",
        "purchasing.change_supplier",
    ],
    ADMIN: _READ_ALL
    + [
        "core.view_client",
        "core.add_client",
        "core.change_client",
        "core.view_system",
        "core.manage_apitoken",
        "inventory.change_part",
        "inventory.add_warehouse",
        "inventory.change_warehouse",
        "inventory.add_location",
        "inventory.change_location",
        "channels.add_channel",
        "channels.change_channel",
        "channels.add_skumapping",
        "channels.change_skumapping",
        "channels.force_push_syncrecord",
        "channels.export_syncrecord",
        "jobs.retry_push",
        "jobs.reopen_job",
    ],
}


def sync_role_permissions(sender=None, using="default", **kwargs):
    """Give each role group exactly the permissions listed above that exist in this database."""
    from django.contrib.auth.models import Group, Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = set()
        for dotted in codenames:
            app_label, codename = dotted.split(".", 1)
            wanted.update(
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .values_list("id", flat=True)
            )
        current = set(group.permissions.values_list("id", flat=True))
        if current != wanted:
            group.permissions.set(wanted)


def user_roles(user) -> set[str]:
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ROLES)
    return set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
