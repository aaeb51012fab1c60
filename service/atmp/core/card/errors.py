"""The one error a card path raises for unusable input: it names the field, so the CLI exits 2 and HTTP answers 422."""

from __future__ import annotations


class CardError(ValueError):
    """A card (or batch) that cannot be used. ``field`` is the dotted path of the offending value.

    ``detail`` is the message as the command line prints it (English); ``words`` the same message for people, in
    ``en`` and ``zh`` (the form and the HTTP answer show it beside the field); ``suggestion`` what to type instead
    (the nearest valid id, the code a misspelt one meant), when there is one; ``others`` the card's other problems,
    so that every problem of a card is reported at once (``problems``: this one first).
    """

    def __init__(
        self,
        field: str,
        message: str,
        index: int | None = None,
        *,
        words: dict[str, str] | None = None,
        suggestion: object = None,
        others: list[CardError] | None = None,
    ):
        self.field = field
        self.index = index
        self.detail = message
        self.words = words or {"en": message}
        self.suggestion = suggestion
        self.others = [o.at(index) for o in others or ()]
        where = field if index is None else f"[{index}]{'' if field.startswith('[') else '.'}{field}" if field else f"[{index}]"
        self.where = where  # the path as a person reads it: ``[3].substance.kind`` (the CLI's line, HTTP's ``field``)
        line = f"{where}: {message}" if where else message
        super().__init__("; ".join([line, *map(str, self.others)]))  # the command line's one line names every problem

    @property
    def problems(self) -> list[CardError]:
        return [self, *self.others]

    def to_data(self) -> list[dict]:
        """Every problem as plain data, to cross a process boundary (a card worker's answer) without losing any."""
        return [{"field": p.field, "message": p.detail, "index": p.index, "words": p.words, "suggestion": p.suggestion} for p in self.problems]

    @classmethod
    def from_data(cls, problems: list[dict]) -> CardError:
        first, *rest = [cls(p["field"], p["message"], p["index"], words=p["words"], suggestion=p["suggestion"]) for p in problems]
        first.others = rest
        return first

    def at(self, index: int | None) -> CardError:
        """The same problems, found in the card at ``index`` of a batch."""
        if index is None or index == self.index:
            return self
        return CardError(self.field, self.detail, index, words=self.words, suggestion=self.suggestion, others=self.others)
