"""Small constructors that keep the instrument definitions short and uniform."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ketaclinic.clinical.instruments.model import Anchor, FlagContext, Item

FlagTest = Callable[[FlagContext], bool]

DIFFICULTY_TEXT = (
    "If you checked off any problems, how difficult have these problems made it for you to do your work, "
    "take care of things at home, or get along with other people?"
)
_DIFFICULTY = ("Not difficult at all", "Somewhat difficult", "Very difficult", "Extremely difficult")


def rated_items(
    labels: Sequence[str],
    *,
    maximum: int | Sequence[int],
    texts: Sequence[str] | None = None,
    anchors: Sequence[str] = (),
    answer_codes: Sequence[str | None] = (),
    loincs: Sequence[str | None] = (),
    first: int = 1,
) -> tuple[Item, ...]:
    """Items ``q{first}…`` rated 0..maximum (one maximum for all, or one per item).

    ``anchors`` label the values 0, 1, 2…; ``answer_codes`` are their LOINC answer codes where published.
    """
    maxima = [maximum] * len(labels) if isinstance(maximum, int) else list(maximum)
    items = []
    for n, label in enumerate(labels):
        top = maxima[n]
        items.append(
            Item(
                id=f"q{first + n}",
                label=label,
                options=tuple(range(top + 1)),
                text=texts[n] if texts else None,
                anchors=tuple(
                    Anchor(value, text, answer_codes[value] if answer_codes else None)
                    for value, text in enumerate(anchors)
                ),
                loinc=loincs[n] if loincs else None,
            )
        )
    return tuple(items)


def difficulty_item(loinc: str | None = None) -> Item:
    """The optional, unscored functional-difficulty question that closes the PHQ-9 and GAD-7."""
    return Item(
        id="difficulty",
        label="functional difficulty",
        options=(0, 1, 2, 3),
        text=DIFFICULTY_TEXT,
        anchors=tuple(Anchor(value, text) for value, text in enumerate(_DIFFICULTY)),
        loinc=loinc,
        required=False,
        scored=False,
    )


def item_at_least(item_id: str, minimum: int) -> FlagTest:
    """Flag test: the item was answered ``minimum`` or higher."""

    def test(context: FlagContext) -> bool:
        return int(context.answers.get(item_id, 0)) >= minimum

    return test


def total_at_most(maximum: int) -> FlagTest:
    """Flag test: the total is ``maximum`` or lower."""

    def test(context: FlagContext) -> bool:
        return context.total is not None and context.total <= maximum

    return test


def total_at_least_setting(setting: str) -> FlagTest:
    """Flag test: the total reaches the :class:`ClinicPolicy` threshold named ``setting``."""

    def test(context: FlagContext) -> bool:
        threshold: float = getattr(context.policy, setting)
        return context.total is not None and context.total >= threshold

    return test


def any_yes(*item_ids: str) -> FlagTest:
    """Flag test: any of the yes/no items was answered yes."""

    def test(context: FlagContext) -> bool:
        return any(context.answers.get(i) is True for i in item_ids)

    return test


def band_is(label: str) -> FlagTest:
    """Flag test: the score fell in the band (or risk tier) ``label``."""

    def test(context: FlagContext) -> bool:
        return context.band == label

    return test
