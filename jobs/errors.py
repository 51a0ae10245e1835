"""Domain errors of jobs. Stock shortages are `inventory.errors.InsufficientStock` (one error, every short line)."""


class JobError(Exception):
    """Base of job domain errors."""


class IllegalTransition(JobError):
    """The job's state does not allow this action (answered 409 by the API)."""

    def __init__(self, message: str, *, state: str = ""):
        self.state = state
        super().__init__(message)


class JobNotFullyReserved(IllegalTransition):
    """Release is refused while any line is still Allocated (a shortfall)."""

    def __init__(self, *, number: str, short_lines: list[str]):
        self.short_lines = list(short_lines)
        super().__init__(
            f"Job {number} cannot be released while it has a shortfall: " + "; ".join(self.short_lines) + ". "
            "Use Reserve now once the stock is available.",
            state="reserved",
        )


class LocationRequired(JobError):
    """Done for a job whose output goes to a local warehouse needs the location to put it in."""
