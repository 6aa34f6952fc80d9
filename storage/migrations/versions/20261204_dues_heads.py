"""merge the heads into one: the feature migrations of 4 December and the dues ledger

Nothing changes in the schema; one head keeps the next migration's down_revision unambiguous.

Revision ID: 20261204_dues_heads
Revises: 20261204_access_privacy, 20261204_activity_version, 20261204_cluster,
    20261204_dues, 20261204_grading_anonymity, 20261204_relink_identity
Create Date: 2026-12-04
"""

from collections.abc import Sequence

revision: str = "20261204_dues_heads"
down_revision: str | Sequence[str] | None = (
    "20261204_access_privacy",
    "20261204_activity_version",
    "20261204_cluster",
    "20261204_dues",
    "20261204_grading_anonymity",
    "20261204_relink_identity",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""


def downgrade() -> None:
    """Revert."""
