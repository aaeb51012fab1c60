"""The one error a card path raises for unusable input: it names the field, so the CLI exits 2 and HTTP answers 422."""

from __future__ import annotations


class CardError(ValueError):
    """A card (or batch) that cannot be used. ``field`` is the dotted path of the offending value."""

    def __init__(self, field: str, message: str, index: int | None = None):
        self.field = field
        self.index = index
        self.detail = message
        where = field if index is None else f"[{index}]{'' if field.startswith('[') else '.'}{field}" if field else f"[{index}]"
        self.where = where  # the path as a person reads it: ``[3].substance.kind`` (the CLI's line, HTTP's ``field``)
        super().__init__(f"{where}: {message}" if where else message)
