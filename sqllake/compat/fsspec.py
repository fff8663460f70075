"""fsspec internals sqllake relies on: the hook a filesystem implements to open a file.

fsspec's ``AbstractFileSystem.open`` wraps text modes, compression and caching around
``_open``, the method its implementations provide; its Arrow wrapper's ``_open`` opens a
file of an Arrow filesystem for writing. :class:`FileSystemBase` routes the hook to a
public method.
"""

from __future__ import annotations

from typing import Any

from fsspec import AbstractFileSystem
from fsspec.implementations.arrow import ArrowFSWrapper


class FileSystemBase(AbstractFileSystem):  # type: ignore[misc]
    """An fsspec filesystem whose subclasses open files in :meth:`open_raw`."""

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        return self.open_raw(path, mode, **kwargs)

    def open_raw(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        """A binary file object for ``path`` (``mode`` is ``rb`` or ``wb``)."""
        raise NotImplementedError


def open_raw(wrapper: ArrowFSWrapper, path: str, mode: str, **kwargs: Any) -> Any:
    """A binary file object for ``path`` in the Arrow filesystem ``wrapper`` wraps."""
    return wrapper._open(path, mode, **kwargs)
