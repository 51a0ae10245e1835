from django.core.management.base import BaseCommand, CommandError

from inventory.selectors import check_ledger


class Command(BaseCommand):
    help = (
        "Prove every inventory row equals the sum of its ledger movements, and every StockLevel its rows "
        "(and its copies of the part's threshold and generic flag the part's)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="List at most this many problems of each kind.")

    def handle(self, *args, limit: int, **options):
        report = check_ledger()
        if report.is_ok:
            self.stdout.write(self.style.SUCCESS(f"Ledger OK: {report.row_count} rows"))
            return
        for title, problems in (
            ("Rows that differ from their ledger sum", report.row_mismatches),
            ("StockLevels that differ from the sum of their rows or from their part", report.level_mismatches),
        ):
            if not problems:
                continue
            self.stderr.write(f"{title} ({len(problems)}):")
            for problem in problems[:limit]:
                self.stderr.write(f"  {problem}")
            if len(problems) > limit:
                self.stderr.write(f"  … and {len(problems) - limit} more")
        raise CommandError(
            f"Ledger check failed: {len(report.row_mismatches)} row(s) and "
            f"{len(report.level_mismatches)} StockLevel value(s) differ ({report.row_count} rows checked)."
        )
