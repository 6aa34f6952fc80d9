"""Every model module, imported so Base.metadata is the whole schema (for Alembic and tests)."""

from storage import (
    models_activity,  # noqa: F401
    models_cluster,  # noqa: F401
    models_dues,  # noqa: F401
    models_grading,  # noqa: F401
    models_meetings,  # noqa: F401
    models_notices,  # noqa: F401
    models_relink,  # noqa: F401
    models_reminders,  # noqa: F401
)
from storage.models import Base

# Feature model modules register their tables on Base when imported: a new one is added to
# the import above, marked as a deliberate unused import like the others.

__all__ = ["Base"]
