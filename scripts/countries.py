"""Regenerate src/souverain/report/data/countries.json from the Unicode CLDR data in Babel.

Babel is not a dependency of souverain: install it apart (``pip install --target /tmp/b babel``)
and run ``PYTHONPATH=/tmp/b python scripts/countries.py``. Licence: see report/data/NOTICE.
"""

import json
from pathlib import Path

from babel import Locale, __version__
from babel.core import get_cldr_version

OUT = Path(__file__).resolve().parents[1] / "src" / "souverain" / "report" / "data" / "countries.json"
NOT_COUNTRIES = {"ZZ", "XA", "XB", "QO", "EZ", "UN"}  # unknown, pseudo-locales, groupings (EU kept: EU law)


def main() -> None:
    en, fr = Locale("en"), Locale("fr")
    codes = sorted(c for c in en.territories if len(c) == 2 and c.isalpha() and c not in NOT_COUNTRIES)
    source = (f' "source": "Unicode CLDR {get_cldr_version()} territory display names (en, fr), '
              f'extracted with Babel {__version__}",')
    lines = ["{", source, ' "licence": "Unicode-3.0 (see NOTICE beside this file)",', ' "names": {']
    lines += [f'  "{c}": {json.dumps({"en": en.territories[c], "fr": fr.territories[c]}, ensure_ascii=False)}'
              + ("," if i < len(codes) - 1 else "") for i, c in enumerate(codes)]
    OUT.write_text("\n".join([*lines, " }", "}"]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
