"""schemathesis against /api/schema/ with a token, bounded (a fixed seed and number of examples per operation):
no 5xx, every answer conforms to the schema, undeclared methods answer 405; the stateful phase follows the schema's
links (create → release → cancel …; tests/jobs/test_api_links.py follows them with real data and asserts the 409).
The larger run is bench/api_fuzz.py."""

import io
import re
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from core.services import issue_api_token

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from _fuzz import run_fuzz  # noqa: E402

EXAMPLES_PER_OPERATION = 5
SEED = 1


@pytest.fixture
def fuzz_token(transactional_db) -> str:
    """The demo data (parts, jobs, channels, purchase orders of two clients) and its admin (every permission)."""
    call_command("seed_demo", stdout=io.StringIO())
    user = User.objects.get(username="admin")
    return issue_api_token(user=user, name="fuzz", expires_at=None, issued_by=user).key


# Once, on PostgreSQL: the SQLite leg's test database is not shared with a server process.
@pytest.mark.postgresql
def test_fuzz_api_schema_every_check_passes(fuzz_token, server_process, tmp_path):
    result = run_fuzz(
        server_process, fuzz_token, examples=EXAMPLES_PER_OPERATION, seed=SEED, workdir=tmp_path, timeout=300
    )
    print(f"fuzz: {result.cases} cases, {result.failures} failures, {result.errors} errors")
    assert result.cases > 0, result.output[-4000:]
    assert (result.failures, result.errors) == (0, 0), result.output[-12000:]
    assert result.ok, result.output[-4000:]
    # The stateful phase ran over the schema's links (core.api_schema.add_links), not skipped for want of them.
    assert re.search(r"Stateful \(in [\d.]+m?s\)", result.output), result.output[-4000:]


def test_undeclared_methods_answer_405_with_allow(client, admin_user):
    client.force_login(admin_user)
    for method in ("options", "trace"):
        response = client.generic(method.upper(), reverse("open-orders"))
        assert response.status_code == 405
        assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}
