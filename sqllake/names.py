"""Table names and the default schema: what every layer names tables by, without
importing the catalog."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True, order=True)
class TableName:
    namespace: tuple[str, ...]
    name: str

    @property
    def identifier(self) -> tuple[str, ...]:
        return (*self.namespace, self.name)

    def __str__(self) -> str:
        return ".".join(self.identifier)
