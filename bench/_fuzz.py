"""Runs schemathesis (its CLI, as an outside client would) against a running portal: shared by the bounded
test (tests/api/test_fuzz.py) and bench/api_fuzz.py. Every check, a fixed seed, N examples per operation."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

CONFIG = Path(__file__).resolve().parent / "fuzz" / "schemathesis.toml"


@dataclass
class FuzzResult:
    returncode: int
    cases: int
    failures: int
    errors: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.failures == 0 and self.errors == 0


def run_fuzz(base_url: str, token: str, *, examples: int, seed: int, workdir: Path, timeout: float) -> FuzzResult:
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", str(CONFIG), "--no-color",
        "run", f"{base_url}/api/schema/?format=json",
        "--header", f"Authorization: Token {token}",
        "--checks", "all", "--max-examples", str(examples), "--seed", str(seed),
        "--workers", "1", "--no-shrink", "--request-timeout", "30", "--output-truncate", "true",
    ]  # fmt: skip
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=workdir)
    output = completed.stdout + completed.stderr
    summary = _summary(output)
    return FuzzResult(
        completed.returncode,
        summary.get("generated", 0),
        summary.get("unique failures", summary.get("unique failure", 0)),
        summary.get("errored", 0),
        output,
    )


def _summary(output: str) -> dict[str, int]:
    """The figures of the closing 'N generated, N found N unique failures, N errored, N skipped' line."""
    for line in reversed(output.splitlines()):
        if " generated" in line:
            figures = {}
            for part in line.replace(" found ", ", ").split(","):
                number, _, label = part.strip().partition(" ")
                if number.isdigit():
                    figures[label.strip()] = int(number)
            return figures
    return {}
