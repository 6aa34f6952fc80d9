"""The languages' own names, as the language choices and notices show them.

NOTE for the owner of handlers/profile.py: profile.LANGUAGE_NAMES is the same table; import it
from here so it is written once (handlers stop importing other handler modules for helpers).
"""

from __future__ import annotations

LANGUAGE_NAMES = {"zh_Hans": "中文（简体）", "en": "English"}
