"""The default vocabulary: activity and service categories with a stable English code and a Chinese label.

A registry stores its vocabulary as data (table ``categories``); these are what a new registry starts with.
Both the code and the label are accepted wherever a category is asked for.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CATEGORIES", "SEEDED_VOCABULARIES", "VOCABULARIES"]

VOCABULARIES = ("activity", "service", "honour")
"""``activity``: what an activity is about; ``service``: the 服务类别 a volunteer offers; ``honour``: the
categories of good-person honours (助人为乐, 见义勇为, 诚实守信, 敬业奉献, 孝老爱亲 by default)."""

SEEDED_VOCABULARIES = ("activity", "service")
"""The vocabularies a new registry fills with :data:`DEFAULT_CATEGORIES`; ``honour`` is seeded by migration
``m003_honours`` instead, so that upgraded databases get it too."""

DEFAULT_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("education_aid", "爱心助学"),
    ("health_clinic", "健康义诊"),
    ("emergency_rescue", "应急救援"),
    ("environment", "环保公益"),
    ("customs_reform", "移风易俗"),
    ("theory_outreach", "理论宣讲"),
    ("elderly_care", "敬老助老"),
    ("disability_care", "关爱残疾人"),
    ("public_safety", "平安建设"),
    ("civilised_travel", "文明出行"),
    ("cultural_service", "文化服务"),
    ("community_service", "社区服务"),
    ("moral_education", "道德教育"),
    ("child_care", "关爱未成年人"),
    ("other", "其他"),
)
"""(code, label) pairs every new registry has in both vocabularies."""
