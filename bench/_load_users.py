"""The simulated people of bench/load.py, run by Locust in library mode in a process of their own.

    python bench/_load_users.py plan.json stats.json

Locust patches the standard library with gevent as it is imported, so this process imports nothing of Django:
bench/load.py builds the plan (base URL, logins, the client, warehouses and parts with stock), runs this script
as a child and reads the figures it writes. Every request is named by the page it stands for, so the figures come
out per page; a response that is not what a person would get (an error page, a form sent back with errors, a
redirect to the login) counts as a failure with its reason.
"""

from __future__ import annotations

import json
import random
import re
import sys
from itertools import count

import gevent
from locust import HttpUser, between, task
from locust.env import Environment

PLAN: dict = {}
JOB_LINK = re.compile(r"^/jobs/(\d+)/$")
TITLES = count(1)


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)  # a person reads the page before the next click
    username = ""

    def on_start(self) -> None:
        """Take one of the sessions signed in for this role by bench/load.py; the first page sets the CSRF cookie."""
        cookie = PLAN["sessions"][self.username].pop()
        self.client.cookies.set(cookie["name"], cookie["value"], domain=cookie["domain"], path="/")
        self.page("/", "home")

    def csrf(self) -> str:
        return self.client.cookies.get("csrftoken", "")

    def page(self, url: str, name: str, *, expect: str | None = None) -> str:
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(_why(response))
            elif expect is not None and expect not in response.text:
                response.failure(f"the page lacks {expect!r}")
            return response.text

    def post(self, url: str, name: str, data: dict, *, redirect_to: re.Pattern | None = None) -> str | None:
        """POST a form as the browser would; success is the redirect a saved form answers (its Location)."""
        headers = {"X-CSRFToken": self.csrf(), "Referer": self.host + url}
        with self.client.post(
            url, data=data, headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 0:
                response.failure(_why(response))
                return None
            if response.status_code != 302:
                errors = re.findall(r'class="[^"]*(?:errorlist|alert-error)[^"]*"[^>]*>(.{0,160})', response.text)
                response.failure(f"{response.status_code}: {errors[:2] or response.text[:160]!r}")
                return None
            if redirect_to is not None and not redirect_to.match(location):
                response.failure(f"redirected to {location}")
                return None
            return location

    def browse_inventory(self) -> None:
        warehouse = random.choice(PLAN["warehouses"])
        sort = random.choice(["", "&sort=-available", "&sort=sku", "&sort=-stock", "&low_stock=true"])
        self.page(f"/inventory/?warehouse={warehouse['code']}{sort}", "inventory ?warehouse=…")


class Coordinator(Person):
    """Looks at stock, creates jobs, edits them, then releases or cancels each; glances at the board."""

    weight = 3
    username = "coordinator"

    def on_start(self) -> None:
        super().on_start()
        self.reserved: list[int] = []

    @task(3)
    def inventory(self) -> None:
        if random.random() < 0.3:
            self.page("/inventory/", "inventory")
        else:
            self.browse_inventory()

    @task(3)
    def create_job(self) -> None:
        self.page("/jobs/new/", "job form")
        line = random.choice(PLAN["lines"])
        data = {
            "client": PLAN["client_id"],
            "title": f"Load job {next(TITLES)}",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-part": line["sku"],
            "lines-0-warehouse": line["warehouse_id"],
            "lines-0-quantity": "1",
        }
        location = self.post("/jobs/new/", "job create", data, redirect_to=JOB_LINK)
        if location:
            job_id = int(JOB_LINK.match(location).group(1))
            self.page(location, "job detail")
            self.reserved.append(job_id)
            self.lines = getattr(self, "lines", {})
            self.lines[job_id] = line

    @task(2)
    def edit_job(self) -> None:
        if not self.reserved:
            return
        job_id = random.choice(self.reserved)
        line = self.lines[job_id]
        self.page(f"/jobs/{job_id}/edit/", "job form")
        data = {
            "title": f"Load job {job_id} (edited)",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-part": line["sku"],
            "lines-0-warehouse": line["warehouse_id"],
            "lines-0-quantity": str(random.choice([1, 2])),
        }
        self.post(f"/jobs/{job_id}/edit/", "job edit", data, redirect_to=JOB_LINK)

    @task(2)
    def release_or_cancel(self) -> None:
        if not self.reserved:
            return
        job_id = self.reserved.pop(random.randrange(len(self.reserved)))
        action = random.choice(["release", "cancel"])
        self.post(f"/jobs/{job_id}/{action}/", f"job {action}", {}, redirect_to=JOB_LINK)
        self.page(f"/jobs/{job_id}/", "job detail")

    @task(1)
    def board(self) -> None:
        self.page("/jobs/board/", "job board")


class Manager(Person):
    """Filters inventory by warehouse, reads the job list and the board, the sync log, and exports it."""

    weight = 2
    username = "manager"

    @task(4)
    def inventory(self) -> None:
        self.browse_inventory()

    @task(2)
    def jobs(self) -> None:
        if random.random() < 0.5:
            self.page(random.choice(["/jobs/", "/jobs/?state=released"]), "job list")
        else:
            self.page("/jobs/board/", "job board")

    @task(2)
    def sync_log(self) -> None:
        query = random.choice(["", "?view=archival", "?status=error", f"?channel={random.choice(PLAN['channels'])}"])
        self.page(f"/channels/sync/{query}", "sync log")

    @task(1)
    def export(self) -> None:
        with self.client.get(
            "/channels/sync/export.xlsx?view=archival", name="sync log export", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(_why(response))
            elif not response.content.startswith(b"PK"):
                response.failure("200 but not a workbook")


def _why(response) -> str:
    if response.status_code == 0:  # no answer at all: the connection failed or timed out
        return f"no answer: {response.error!r}"
    return f"{response.status_code} {response.headers.get('Location', '')}".strip()


def run(users: int, seconds: float) -> dict:
    # At the end every person finishes the click in hand (a request cut off by the stop is not the portal's error).
    environment = Environment(user_classes=[Coordinator, Manager], host=PLAN["base"], stop_timeout=30)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=max(users / 5, 1))  # every user on within 5 s
    gevent.spawn_later(seconds, runner.quit)
    runner.greenlet.join()
    stats = environment.stats
    pages = {}
    for entry in stats.entries.values():
        pages[entry.name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50": entry.get_response_time_percentile(0.50),
            "p95": entry.get_response_time_percentile(0.95),
            "p99": entry.get_response_time_percentile(0.99),
            "max": entry.max_response_time,
        }
    total = stats.total
    return {
        "seconds": total.last_request_timestamp - total.start_time if total.last_request_timestamp else 0.0,
        "requests": total.num_requests,
        "failures": total.num_failures,
        "p95": total.get_response_time_percentile(0.95),
        "pages": pages,
        "errors": [
            {"name": error.name, "error": str(error.error), "occurrences": error.occurrences}
            for error in stats.errors.values()
        ],
    }


if __name__ == "__main__":
    plan_path, out_path = sys.argv[1:3]
    with open(plan_path) as plan_file:
        PLAN.update(json.load(plan_file))
    figures = run(PLAN["users"], PLAN["seconds"])
    with open(out_path, "w") as out_file:
        json.dump(figures, out_file)
