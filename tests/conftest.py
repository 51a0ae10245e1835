"""Fixtures shared by every test: clients, users per role, logged-in test clients, a real
Celery worker, a real server process and a real browser.

Tests run on PostgreSQL (DATABASE_URL, default 127.0.0.1:5432). Keep fixtures small
and real: factories over mocks.

- `celery_worker_process` (mark the test `worker`): a `celery worker` subprocess on the
  Redis db CELERY_TEST_REDIS_DB (default 0) and the pytest-django test database; the
  Celery app of the test process sends to the same Redis, so `.delay()` reaches it.
- `browser` / `page` / `browser_login` (mark the test `browser`): Chromium through
  Playwright's sync API; `browser_login(page, live_server, user)` logs in through the
  real login form (the password `make_user` sets, or `password=`).
- `server_process`: gunicorn serving the test database on a free port.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User

from core.models import Client, Membership
from core.roles import ADMIN, COORDINATOR, MANAGER, OPERATOR

BASE_DIR = Path(__file__).resolve().parent.parent
WORKER_QUEUES = "default,allocadence,channels,exports"
# A loaded 2-core CI machine can take this long to boot Django in a subprocess.
STARTUP_TIMEOUT_SECONDS = float(os.environ.get("TEST_PROCESS_STARTUP_SECONDS", "90"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config):
    os.environ.setdefault("AXES_ENABLED", "0")


def pytest_collection_modifyitems(config, items):
    """On SQLite (the `make run` default, the second leg of `make test`) `postgresql` tests skip, with the reason."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if engine == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL; this run is on {engine.rsplit('.', 1)[-1]}")
    for item in items:
        if item.get_closest_marker("postgresql"):
            item.add_marker(skip)


def is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str):
    """A missing real component fails under CI=true and skips (with the reason) elsewhere."""
    if is_ci():
        pytest.fail(f"{reason} (CI=true: required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_axes(settings):
    settings.AXES_ENABLED = False


@pytest.fixture
def client_a(db):
    return Client.objects.create(code="acme", name="Acme Print")


@pytest.fixture
def client_b(db):
    return Client.objects.create(code="globex", name="Globex Signs")


def make_user(username: str, *, roles=(), clients=(), superuser: bool = False) -> User:
    user = User.objects.create_user(
        username=username, password="pw-" + username, is_superuser=superuser, is_staff=superuser
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for client in clients:
        Membership.objects.create(user=user, client=client)
    return user


@pytest.fixture
def coordinator(client_a):
    return make_user("coord", roles=[COORDINATOR], clients=[client_a])


@pytest.fixture
def operator(client_a):
    return make_user("oper", roles=[OPERATOR], clients=[client_a])


@pytest.fixture
def manager(client_a):
    return make_user("mgr", roles=[MANAGER], clients=[client_a])


@pytest.fixture
def admin_user(client_a):
    return make_user("adm", roles=[ADMIN], clients=[client_a])


@pytest.fixture
def superuser(db):
    return make_user("root", superuser=True)


@pytest.fixture
def login(client):
    """Log a user into the Django test client: `login(user)` returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


# --- real processes against the test database -------------------------------------


def database_url_for(db_settings: dict) -> str:
    """A DATABASE_URL for another process that must see this test run's database."""
    engine = db_settings["ENGINE"]
    if "sqlite" in engine:
        return f"sqlite:///{db_settings['NAME']}"
    auth = quote(db_settings.get("USER") or "", safe="")
    if db_settings.get("PASSWORD"):
        auth += ":" + quote(db_settings["PASSWORD"], safe="")
    host = db_settings.get("HOST") or "127.0.0.1"
    port = db_settings.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db_settings['NAME']}"


@pytest.fixture
def test_database_url(transactional_db):
    """DATABASE_URL of the pytest-django test database (test_…), for subprocesses.

    Depends on transactional_db: a subprocess only sees committed rows.
    """
    from django.conf import settings

    return database_url_for(settings.DATABASES["default"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def subprocess_env(**overrides: str) -> dict[str, str]:
    # The browser fixtures relax Django's async check for this process only.
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_SETTINGS_MODULE="inventory_portal.settings",
        PYTHONUNBUFFERED="1",
        AXES_ENABLED="0",
        DB_CONN_MAX_AGE="0",
    )
    env.update(overrides)
    return env


def start_process(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_process
    process = subprocess.Popen(
        argv,
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    process.log_file = log
    process.log_path = log_path
    return process


def process_log(process: subprocess.Popen, tail: int = 4000) -> str:
    process.log_file.flush()
    return Path(process.log_path).read_text(errors="replace")[-tail:]


def stop_process(process: subprocess.Popen, timeout: float = 10.0, signum: int = signal.SIGTERM):
    """Signal the process group, wait, then SIGKILL whatever is left (pool children included)."""
    for sent, wait in ((signum, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sent)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.log_file.close()


def reset_broker_connections(app):
    """Forget every pooled connection and producer, so the next send uses the current broker_url.

    The remote-control mailbox caches its producer pool on first use (a /system/ page
    test pinging the default broker, say); it has to go too.
    """
    app._pool = None  # not app.close(): that also deregisters the app, and shared tasks imported later miss it
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app.control.mailbox.__dict__.pop("producer_pool", None)


@pytest.fixture
def unreachable_broker(monkeypatch):
    """Point this process's Celery app at a loopback port where no broker listens (Redis down)."""
    from inventory_portal.celery import app

    broker_url = f"redis://127.0.0.1:{free_port()}/0"
    previous = app.conf.broker_url  # before setenv: Celery reads CELERY_BROKER_URL from the environment first
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    app.conf.broker_url = broker_url
    reset_broker_connections(app)
    try:
        yield broker_url
    finally:
        app.conf.broker_url = previous
        reset_broker_connections(app)


@pytest.fixture
def celery_worker_process(test_database_url, tmp_path, monkeypatch):
    """A real `celery worker` on Redis, consuming every queue, reading the test database.

    Yields the worker's node name. Flushes the Redis db first so no stale message from an
    earlier run is delivered; points this process's Celery app at the same broker.
    """
    import redis
    from kombu.exceptions import OperationalError

    from inventory_portal.celery import app

    redis_db = int(os.environ.get("CELERY_TEST_REDIS_DB", "0"))
    broker_url = f"redis://127.0.0.1:6379/{redis_db}"
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError as exc:
        skip_or_fail(f"Redis is not reachable at {broker_url}: {exc}")

    node = f"pytest-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    process = start_process(
        [
            sys.executable, "-m", "celery", "-A", "inventory_portal", "worker",
            "--queues", WORKER_QUEUES, "--pool", "threads", "--concurrency", "2",
            "--hostname", node, "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ],
        subprocess_env(DATABASE_URL=test_database_url, CELERY_BROKER_URL=broker_url, PORTAL_VAR_DIR=str(tmp_path)),
        tmp_path / "worker.log",
    )  # fmt: skip

    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", broker_url)
    previous = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = broker_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    reset_broker_connections(app)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Celery worker exited with {process.returncode}:\n{process_log(process)}")
            try:
                if app.control.ping(destination=[node], timeout=0.5):
                    break
            except OperationalError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"No ping answer from the worker in {STARTUP_TIMEOUT_SECONDS}s:\n{process_log(process)}")
        yield node
    finally:
        # Cold shutdown: the test is over, nothing in flight is worth waiting for.
        stop_process(process, signum=signal.SIGQUIT)
        app.conf.broker_url, app.conf.broker_transport_options = previous
        reset_broker_connections(app)  # monkeypatch restores the environment after this


@pytest.fixture
def server_process(test_database_url, tmp_path):
    """gunicorn serving the portal on a free loopback port against the test database; yields its base URL."""
    port = free_port()
    process = start_process(
        [
            sys.executable, "-m", "gunicorn", "inventory_portal.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2", "--access-logfile", "-",
        ],
        subprocess_env(DATABASE_URL=test_database_url, PORTAL_VAR_DIR=str(tmp_path), DJANGO_DEBUG="1"),
        tmp_path / "server.log",
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{process_log(process)}")
            try:
                with urllib.request.urlopen(base_url + "/healthz/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not answer in {STARTUP_TIMEOUT_SECONDS}s:\n{process_log(process)}")
                time.sleep(0.2)
        yield base_url
    finally:
        stop_process(process)


# --- browser ------------------------------------------------------------------------


def chromium_executable() -> str:
    return os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system one) through Playwright's sync API, shared by the session."""
    executable = chromium_executable()
    if not (Path(executable).is_file() or shutil.which(executable)):
        skip_or_fail(f"Chromium not found at {executable} (set PLAYWRIGHT_CHROMIUM_EXECUTABLE)")
    # Playwright's sync API keeps an event loop running in this thread; Django's ORM
    # refuses to run inside one unless told the caller knows it is synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies) and page per test."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect

    # Generous on a loaded 2-core CI machine; a passing step waits only as long as it needs.
    timeout_ms = int(os.environ.get("BROWSER_TIMEOUT_MS", "30000"))
    expect.set_options(timeout=timeout_ms)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(timeout_ms)
    try:
        yield context.new_page()
    finally:
        context.close()


def _browser_login(page, live_server, user, password: str | None = None):
    """Log `user` in through the login form, as a person would; returns the page."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password or "pw-" + user.get_username())
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    if page.url.rstrip("/").endswith("/accounts/login"):
        raise AssertionError(f"Login as {user.get_username()} failed: {page.locator('main').inner_text()}")
    return page


@pytest.fixture
def browser_login():
    """`browser_login(page, live_server, user, password=None)` logs in through the real form."""
    return _browser_login
