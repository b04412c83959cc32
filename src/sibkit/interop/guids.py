"""Stable REFI-QDA GUIDs: UUID 5 of a stable key, so exporting the same study twice gives the same GUIDs."""

from __future__ import annotations

import re
import uuid

AUTOMATIC_CODER = "sibkit"  # the user sibkit's automatic hits are exported under (never a person)
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


def unreviewed_coding_guid(selection_guid: str, code_guid: str) -> str:
    """The GUID sibkit gives the coding of an automatic hit nobody has reviewed: recognised on import
    (with the ``sibkit`` user and the note it points to), so such a hit comes back unreviewed even
    from a tool that drops the note."""
    return stable_guid("unreviewed-coding", guid_key(selection_guid), guid_key(code_guid))


def automatic_user(guid: str | None, name: str | None) -> bool:
    """Whether a project's user is sibkit's automatic coder (by its GUID, or by name where a tool
    gave it a GUID of its own)."""
    return (guid is not None and guid_key(guid) == stable_guid("user", AUTOMATIC_CODER)) or name == AUTOMATIC_CODER
