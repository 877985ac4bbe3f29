"""What the pages built in Python share with the templates they replaced: the same escaping and the same rounding.

The monitoring panel and the trajectory charts build their repeated markup in Python (a template spent most of
their time on per-value filters); their tests compare the output with the replaced templates.
"""

from __future__ import annotations

import html
from decimal import ROUND_HALF_UP, Decimal

#: Django's ``escape`` without its lazy-text checks (it calls this): &, <, >, " and ' escaped, for plain strings.
esc = html.escape

_WHOLE = Decimal(1)


def rounded(value: float | None) -> str:
    """``value`` to a whole number as ``floatformat:0`` shows it: its shortest decimal form rounded half away from
    zero (so 12.5 → 13, -0.5 → -1), and never "-0"; empty for None."""
    if value is None:
        return ""
    return str(int(Decimal(str(value)).quantize(_WHOLE, rounding=ROUND_HALF_UP)))
