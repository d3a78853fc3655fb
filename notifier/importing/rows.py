"""What checking a row needs: what rows refer to (`Lookups`), the row being checked (`RowCheck`)
and the problems and notes it leaves (`RowError`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models import UnitKind
from notifier.core.texts import t
from notifier.importing.cells import CellError, cell_text, label_key
from notifier.importing.headings import Header


@dataclass(frozen=True)
class RowError:
    """One problem or note: the line in the file, the column heading (if any) and a readable reason."""

    line: int
    column: str | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class Lookups:
    """What rows refer to, loaded once: unit codes and names, people's phones and names, project codes."""

    units: dict[str, int] = field(default_factory=dict)  # code and label_key(name/short name) -> id
    unit_kinds: dict[int, UnitKind] = field(default_factory=dict)
    unit_codes: set[str] = field(default_factory=set)
    unit_code_of: dict[int, str] = field(default_factory=dict)
    phones: dict[str, int] = field(default_factory=dict)  # E.164 -> person id
    telegram: dict[int, str | None] = field(default_factory=dict)  # telegram id -> that person's phone
    names: dict[str, list[int]] = field(default_factory=dict)  # label_key(name) -> person ids
    person_names: dict[int, str] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)  # code -> project id

    def add_person(self, person_id: int, name: str, phone: str | None) -> None:
        if phone:
            self.phones[phone] = person_id
        self.names.setdefault(label_key(name), []).append(person_id)
        self.person_names[person_id] = name

    def unit(self, text: str) -> int | None:
        """A unit by code, name or short name."""
        return self.units.get(text) or self.units.get(label_key(text))


class RowCheck:
    """Collects a row's problems (and notes) while its cells are converted."""

    def __init__(
        self, line: int, header: Header, cells: dict[str, Any], lang: str, limits: dict[str, int]
    ) -> None:
        self.line, self.header, self.cells, self.lang, self.limits = line, header, cells, lang, limits
        self.errors: list[RowError] = []
        self.notes: list[RowError] = []
        self.values: dict[str, Any] = {}

    def fail(self, key: str | None, reason: str) -> None:
        column = self.header.headings.get(key) if key else None
        self.errors.append(RowError(line=self.line, column=column, reason=reason))

    def note(self, key: str | None, reason: str) -> None:
        column = self.header.headings.get(key) if key else None
        self.notes.append(RowError(line=self.line, column=column, reason=reason))

    def filled(self, key: str) -> bool:
        return bool(cell_text(self.cells.get(key)))

    def take(self, key: str, convert: Callable[[Any], Any]) -> Any:
        if key not in self.cells:
            return None
        try:
            value = convert(self.cells[key])
        except CellError as exc:
            self.fail(key, str(exc))
            return None
        self.values[key] = value
        return value

    def text(self, key: str) -> str | None:
        value = self.take(key, cell_text)
        limit = self.limits.get(key)
        if value and limit and len(value) > limit:
            self.fail(key, t("importer.too_long", self.lang, limit=limit))
        return value  # type: ignore[no-any-return]

    def require(self, *keys: str) -> None:
        for key in keys:
            if key in self.cells and not cell_text(self.cells[key]):
                self.fail(key, t("importer.required", self.lang))
