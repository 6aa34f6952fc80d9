"""Zhibu: the Telegram assistant for Party branch secretaries."""

import os

# Opt in to PTB 22's coming behaviour: durations such as RetryAfter.retry_after are timedeltas.
# Without it PTB warns on every 429, and our code would have to handle both types.
os.environ.setdefault("PTB_TIMEDELTA", "true")
