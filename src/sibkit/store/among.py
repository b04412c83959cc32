"""``column IN (values)`` as one bound parameter, however many values there are.

``column.in_(ids)`` sends one parameter per value: PostgreSQL's protocol takes at most 65,535 and
SQLite at most 32,766, so a study with 100,000 references broke every statement built that way. Here the
values travel as ONE parameter: an array on PostgreSQL (``column = ANY(:values)``), a JSON text on SQLite
(``column IN (SELECT value FROM json_each(:values))``). Both use the column's index, and the statement's
text stays the same whatever the data (so the database can cache its plan).

    session.execute(select(Reference.id).where(among(Reference.id, ids)))
    session.execute(delete(Suggestion).where(among(Suggestion.reference_id, stale)))
    session.execute(select(Document.id).where(~among(Document.id, seen)))   # NOT IN
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Boolean, String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement


class Among(ColumnElement[bool]):
    """``column`` is one of ``values`` (integers or strings), sent as a single parameter."""

    type = Boolean()
    inherit_cache = False  # the values belong to this statement
    _is_implicitly_boolean = True

    def __init__(self, column: Any, values: Iterable[Any]) -> None:
        self.column = column
        self.values = [v.item() if hasattr(v, "item") else v for v in values]  # numpy integers from pandas

    def self_group(self, against: Any = None) -> Any:
        from sqlalchemy.sql.elements import Grouping

        return Grouping(self)


def among(column: Any, values: Iterable[Any]) -> Among:
    """``column IN values`` with one parameter (``~among(...)`` for NOT IN)."""
    return Among(column, values)


@compiles(Among)
def _sqlite(element: Among, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    values = compiler.process(bindparam(None, json.dumps(element.values), type_=String()), **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"


@compiles(Among, "postgresql")
def _postgresql(element: Among, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    values = compiler.process(bindparam(None, element.values, type_=ARRAY(element.column.type)), **kw)
    return f"{column} = ANY({values})"
