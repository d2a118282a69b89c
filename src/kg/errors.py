"""Errors that users cause and can fix; the CLI prints them as one line, exit status 2."""

from __future__ import annotations

from pathlib import Path


class KGError(Exception):
    """Base class of every error the project reports to users without a traceback."""

    exit_code = 1


class InputError(KGError):
    """Bad input: a missing, unreadable, empty or malformed file, or an unknown format.

    ``path``, ``line`` and ``column`` locate the problem when they are known, so the
    message reads like a compiler's: ``data/x.ttl:12:5: Unexpected end of file``.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        return where + self.message


class ValidationFailed(KGError):
    """The data does not conform to the SHACL shapes; ``report`` lists every violation."""

    exit_code = 1

    def __init__(self, report: str, count: int) -> None:
        self.report = report
        self.count = count
        super().__init__(f"the data does not conform to the shapes ({count} violations)")


class StoreError(KGError):
    """The store is missing, locked, read-only or corrupt."""

    exit_code = 2


class ForbiddenService(KGError):
    """A SPARQL ``SERVICE`` or ``LOAD`` target that the allow-list (``KG_SERVICE_ALLOW``)
    does not hold, a variable target, or a request whose targets cannot be verified.
    ``target`` names it (the resolved IRI, or the variable), for the 400 answer."""

    exit_code = 2

    def __init__(self, target: str, message: str | None = None) -> None:
        self.target = target
        super().__init__(message or f"SERVICE target {target} is not allowed")


class LinkingError(KGError):
    """``kg link`` or ``kg import`` cannot read its target (a file or a SPARQL endpoint)."""

    exit_code = 2
