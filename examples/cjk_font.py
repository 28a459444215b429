"""Chinese text in matplotlib charts: find a CJK font and use it, or say plainly that there is none.

matplotlib draws Chinese characters as empty boxes unless its font list holds a font that has them. A font
installed after matplotlib first ran (``apt-get install fonts-noto-cjk``) is on the system but not in
matplotlib's cached list, so :func:`use_cjk_font` also looks for one among the system's font files.

Setting ``VOLREG_NO_CJK_FONT=1`` hides every CJK font from matplotlib, so that a notebook can be tried as it
runs on a machine without one (the test suite runs the statistics notebook both ways).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CJK_FAMILIES", "use_cjk_font"]

CJK_FAMILIES = ("Noto Sans CJK", "Noto Serif CJK", "Source Han Sans", "Source Han Serif", "WenQuanYi",
                "SimHei", "Microsoft YaHei", "PingFang", "Heiti", "Songti", "AR PL")
"""Family names (or their beginnings) of fonts that carry Chinese characters, most wanted first."""

_FILES = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "SourceHanSerif", "wqy", "simhei", "msyh", "PingFang",
          "STHeiti", "uming", "ukai")


def _rank(name: str) -> int | None:
    return next((i for i, family in enumerate(CJK_FAMILIES) if name.startswith(family)), None)


def use_cjk_font() -> str | None:
    """Put the best CJK font first in matplotlib's sans-serif list and return its name; None when there is none.

    Looks in matplotlib's font list, then among the system's font files (adding what it finds). With
    ``VOLREG_NO_CJK_FONT`` set, removes every CJK font from matplotlib's list instead and returns None.
    """
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if os.environ.get("VOLREG_NO_CJK_FONT"):
        manager.ttflist = [f for f in manager.ttflist if _rank(f.name) is None]
        cached = getattr(manager, "_findfont_cached", None)
        if cached is not None:
            cached.cache_clear()  # forget fonts already looked up
        return None
    if not any(_rank(f.name) is not None for f in manager.ttflist):
        for path in font_manager.findSystemFonts():
            if any(part.lower() in Path(path).name.lower() for part in _FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file matplotlib cannot read
                    continue
    # Simplified Chinese glyph shapes (SC) before the Traditional, Japanese and Korean cuts of one family.
    names = sorted({f.name for f in manager.ttflist if _rank(f.name) is not None},
                   key=lambda name: (_rank(name), not name.endswith(" SC"), name))
    if not names:
        return None
    plt.rcParams["font.sans-serif"] = [names[0], *plt.rcParams["font.sans-serif"]]
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack the Unicode minus sign
    return names[0]
