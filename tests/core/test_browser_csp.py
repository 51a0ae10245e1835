"""Every page of every role, under the real Content-Security-Policy, in Chromium: no violation anywhere.

Each role logs in and crawls what its pages link to (same origin, GET, once per view and set of query
parameters), from its home page and a few seeds (account, API tokens, API docs, the browsable API, the
admin). The job form, the board, the sync log and Swagger UI are also driven, because htmx and Swagger
build parts of those pages after load. Violations are caught three ways: `securitypolicyviolation`
events, Chromium's "Refused to …" console messages, and uncaught script errors. Every 403/404 page met on
the way must be inside the layout (navigation and user menu).
"""

import datetime
import re
from collections import deque
from decimal import Decimal
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve
from django.utils import timezone

from channels.models import Channel, SkuMapping
from core import services as core_services
from core.models import SyncRun
from imports.services import preview_import
from inventory.models import Part
from jobs.production import release_job
from jobs.services import LineSpec, save_job
from purchasing.models import Supplier
from purchasing.services import LineSpec as PurchaseLineSpec
from purchasing.services import save_purchase_order
from tests.channels.ui_factories import make_record
from tests.jobs.conftest import make_warehouse, put_stock

pytestmark = pytest.mark.browser

# Pages that answer a file, change something on GET or end the session: never followed.
NOT_FOLLOWED = {
    "inventory:export",
    "channels:export",
    "channels:export_download",
    "logout",
    "admin:logout",
    "api-schema",
    "part-media",
    "healthz",
}
PAGE_LIMIT = 150

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({
    directive: event.effectiveDirective, blocked: event.blockedURI, source: event.sourceFile,
    line: event.lineNumber, sample: event.sample, page: document.location.pathname,
  });
});
"""


class ViolationWatch:
    def __init__(self, page):
        self.page = page
        self.found: list[str] = []
        page.context.expose_binding("__reportCspViolation", self._on_event)
        page.context.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.found.append(f"{page.url}: uncaught {error}"))

    def _on_event(self, source, detail):
        self.found.append(f"{detail['page']}: securitypolicyviolation {detail}")

    def _on_console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or text.startswith("Refused to"):
            self.found.append(f"{self.page.url}: console {message.type}: {text}")


@pytest.fixture
def watched(page):
    return page, ViolationWatch(page)


@pytest.fixture
def world(client_a, coordinator, manager, admin_user):
    """One of each thing a page shows: stock, a job, a purchase order, a channel with records, an import, runs."""
    warehouse = make_warehouse("MAIN", extra_locations=["A1"])
    vinyl = Part.objects.create(client=client_a, sku="VINYL-1", description="Vinyl sheet", low_stock_threshold=50)
    board = Part.objects.create(client=client_a, sku="BOARD-1", description="Foam board")
    put_stock(vinyl, warehouse, 40)
    put_stock(board, warehouse, 12)
    job = save_job(
        client=client_a,
        user=coordinator,
        title="Shop window",
        lines=[LineSpec(part=vinyl, warehouse=warehouse, quantity=4)],
    )
    supplier = Supplier.objects.create(client=client_a, name="Paper Mill", code="MILL", lead_time_days=5)
    purchase_order = save_purchase_order(
        client=client_a,
        user=manager,
        supplier=supplier,
        warehouse=warehouse,
        lines=[PurchaseLineSpec(part=board, quantity=20, unit_cost=Decimal("1.50"))],
    )
    channel = Channel.objects.create(
        client=client_a,
        name="Acme Shop",
        code="shop-a",
        kind=Channel.Kind.SHOPIFY,
        endpoint="http://127.0.0.1:9",
        credentials={"access_token": "shpat_secret_token_123456"},
    )
    channel.warehouses.set([warehouse])
    SkuMapping.objects.create(
        client=client_a, channel=channel, part=vinyl, channel_sku="C-VINYL-1", channel_product_id="100001"
    )
    make_record(channel, sku="VINYL-1", status="error")
    make_record(channel, sku="BOARD-1", status="success")
    batch = preview_import(
        kind="inventory",
        client=client_a,
        user=manager,
        uploaded_file=SimpleUploadedFile(
            "stock.csv", b"sku,warehouse,type,quantity\nVINYL-1,MAIN,available,3\nNOPE,MAIN,available,1\n"
        ),
    )
    for kind, status in [("allocadence_pull", "success"), ("channel_sync", "failed"), ("import", "partial")]:
        SyncRun.objects.create(kind=kind, status=status, counts={"rows": 3}, error="x" if status == "failed" else "")
    core_services.issue_api_token(
        user=coordinator, name="ERP", expires_at=timezone.now() + datetime.timedelta(days=5), issued_by=admin_user
    )
    return {"job": job, "purchase_order": purchase_order, "batch": batch, "warehouse": warehouse}


def page_key(path: str, query: str):
    """What makes two URLs the same page for this test: the view, and which query parameters are set."""
    try:
        match = resolve(path)
    except Resolver404:
        return "not-found", frozenset([path])
    return match.view_name, frozenset(name for name, _ in parse_qsl(query))


def crawl(page, base_url: str, seeds: list[str], errors: set[str] | None = None) -> set[str]:
    """Visit the seeds and every same-origin page they lead to; returns the view names of the pages shown.

    The views that answered 4xx (an error page, whose links are not followed) go into `errors`.
    """
    queue = deque(seeds)
    seen = set()
    visited_views = set()
    while queue and len(seen) < PAGE_LIMIT:
        url = queue.popleft()
        parts = urlsplit(urljoin(base_url + "/", url))
        if f"{parts.scheme}://{parts.netloc}" != base_url:
            continue
        key = page_key(parts.path, parts.query)
        if key in seen or key[0] in NOT_FOLLOWED:
            continue
        seen.add(key)
        response = page.goto(f"{base_url}{parts.path}{'?' + parts.query if parts.query else ''}")
        page.wait_for_load_state("networkidle")
        assert response is not None and response.status < 500, f"{url}: {response and response.status}"
        if response.status >= 400:
            if errors is not None:
                errors.add(key[0])
            if "text/html" in (response.headers.get("content-type") or ""):
                # an error page is a page of the portal: the layout with the navigation and the user menu
                assert page.get_by_role("navigation", name="Main").count() == 1, f"{url}: error page outside layout"
                assert page.get_by_role("button", name="Log out").count() == 1, f"{url}: error page without menu"
            continue
        if "text/html" not in (response.headers.get("content-type") or ""):
            continue
        visited_views.add(key[0])
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        queue.extend(href for href in hrefs if not href.startswith(("#", "mailto:", "javascript:")))
    return visited_views


def assert_no_violations(watch):
    assert watch.found == [], "\n".join(watch.found)


COMMON_SEEDS = ["/", "/account/", "/account/tokens/", "/api/docs/", "/accounts/password_change/"]
COMMON_VIEWS = {"account", "account-tokens", "api-docs", "password_change", "inventory:list", "jobs:list"}


def exercise_job_form(page, base_url: str):
    """The htmx parts of /jobs/new/: part search, live Available, a second line added in place."""
    page.goto(f"{base_url}/jobs/new/")
    first = page.locator("tr.job-line").nth(0)
    first.get_by_label("Part (SKU)").fill("VINYL-1")
    first.get_by_label("Warehouse").select_option(label="MAIN — Warehouse MAIN")
    first.locator(".availability").get_by_text(re.compile(r"Available at MAIN: 36")).wait_for()
    first.get_by_label("Sheets").fill("3")
    first.locator(".availability").get_by_text(re.compile(r"Would remain: 33")).wait_for()
    page.get_by_role("button", name="Add line").click()
    page.locator("tr.job-line").nth(1).wait_for()
    page.wait_for_load_state("networkidle")


def test_csp_coordinator_pages_and_job_form(watched, live_server, browser_login, coordinator, world):
    page, watch = watched
    browser_login(page, live_server, coordinator)

    # the error pages too: /system/ is 403 for a coordinator, the other 404
    errors = set()
    views = crawl(
        page, live_server.url, COMMON_SEEDS + [f"/jobs/{world['job'].pk}/edit/", "/system/", "/no-such/"], errors
    )
    exercise_job_form(page, live_server.url)

    assert views >= COMMON_VIEWS | {"jobs:new", "jobs:board", "jobs:detail", "jobs:edit", "inventory:part"}
    assert {"system", "not-found"} <= errors
    assert_no_violations(watch)


def test_csp_operator_pages_and_board(watched, live_server, browser_login, operator, coordinator, world):
    page, watch = watched
    job = world["job"]
    release_job(job=job, user=coordinator)
    browser_login(page, live_server, operator)

    views = crawl(page, live_server.url, COMMON_SEEDS)
    page.goto(f"{live_server.url}/jobs/board/")
    page.get_by_role("button", name=f"Move {job.number} forward").click()
    page.locator(f'section[data-column="Cutting"] #job-card-{job.pk}').wait_for()

    assert views >= COMMON_VIEWS | {"jobs:board", "jobs:detail"}
    assert_no_violations(watch)


def test_csp_manager_pages_sync_log_and_imports(watched, live_server, browser_login, manager, world):
    page, watch = watched
    browser_login(page, live_server, manager)

    views = crawl(
        page,
        live_server.url,
        COMMON_SEEDS + ["/channels/sync/?view=archival", "/imports/batches/", f"/imports/{world['batch'].pk}/"],
    )

    page.goto(f"{live_server.url}/inventory/")
    page.get_by_label("Warehouse").select_option(label="MAIN — Warehouse MAIN")
    page.wait_for_url(re.compile(r"/inventory/\?.*warehouse=MAIN"))
    page.wait_for_load_state("networkidle")

    assert views >= COMMON_VIEWS | {
        "channels:sync",
        "channels:mappings",
        "imports:upload",
        "imports:list",
        "imports:preview",
        "purchasing:list",
        "purchasing:detail",
        "purchasing:reorder",
    }
    assert_no_violations(watch)


def test_csp_admin_pages(watched, live_server, browser_login, admin_user, world):
    page, watch = watched
    browser_login(page, live_server, admin_user)

    views = crawl(page, live_server.url, COMMON_SEEDS + ["/tokens/", "/system/"])
    page.goto(f"{live_server.url}/system/")
    page.wait_for_timeout(5500)  # one htmx poll of the sync runs
    page.goto(f"{live_server.url}/channels/sync/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Force push all 1 error matching these filters").click()
    page.get_by_text(re.compile(r"^Force Push: 1 record \(SKU VINYL-1 on .+\) queued$")).wait_for()
    page.wait_for_load_state("networkidle")

    assert views >= COMMON_VIEWS | {"api-tokens", "system", "allocadence:runs", "channels:sync"}
    assert_no_violations(watch)


def test_csp_superuser_pages_and_django_admin(watched, live_server, browser_login, superuser, world):
    page, watch = watched
    browser_login(page, live_server, superuser)

    views = crawl(page, live_server.url, COMMON_SEEDS + ["/tokens/", "/admin/"])

    admin_views = {name for name in views if name.startswith("admin:")}
    assert {
        "admin:index",
        "admin:auth_user_changelist",
        "admin:auth_user_change",
        "admin:core_client_add",
        "admin:core_apitoken_changelist",
        "admin:core_apitoken_change",
    } <= views
    assert len(admin_views) >= 20
    assert_no_violations(watch)


def test_api_docs_renders_operations_offline(watched, live_server):
    page, watch = watched
    # given no route out of the machine: any request that leaves the live server fails
    page.route(re.compile(r"^(?!" + re.escape(live_server.url) + ").*"), lambda route: route.abort())

    page.goto(f"{live_server.url}/api/docs/")

    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock-tag", has_text="v1").count() == 1
    page.locator(".opblock-summary-path", has_text="/api/v1/inventory/").first.click()
    page.get_by_role("button", name="Try it out").wait_for()
    assert page.locator(".opblock").count() >= 20
    assert_no_violations(watch)
