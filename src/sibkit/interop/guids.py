"""Stable REFI-QDA GUIDs: UUID 5 of a stable key, so exporting the same study twice gives the same GUIDs."""

from __future__ import annotations

import re
import uuid

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/sibkit/sibkit/refi-qda")
GUID = re.compile(r"\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?")


def stable_guid(kind: str, *parts: object) -> str:
    """The GUID of a sibkit object of one kind, from the parts that identify it (e.g. a theme id)."""
    key = "\x1f".join([kind, *(str(part) for part in parts)])
    return str(uuid.uuid5(NAMESPACE, key))


def guid_key(guid: str) -> str:
    """The comparable form of a GUID as tools write it (braces and case differ between tools)."""
    return guid.strip().strip("{}").lower()


def is_guid(text: str | None) -> bool:
    return bool(text) and GUID.fullmatch(text.strip()) is not None  # type: ignore[union-attr]
