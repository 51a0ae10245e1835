"""Domain errors of bills of materials."""

from dataclasses import dataclass


@dataclass(frozen=True)
class BomProblem:
    """One problem of a BOM being saved; `line` is 1-based (0: the BOM as a whole)."""

    line: int
    sku: str
    code: str
    message: str


class BomInvalid(Exception):
    """A BOM was refused; carries every problem found, not just the first."""

    def __init__(self, problems: list[BomProblem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))

    @property
    def messages(self) -> list[str]:
        return [p.message for p in self.problems]
