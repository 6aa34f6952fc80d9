"""The branch committee (支部委员): its members besides the secretary and deputies, with their
posts. Admins appoint them in /access within their subtree; the roster import grants them too.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.access import Principal
from bot.enums import CommitteePost, OrgKind, Role
from storage import queries
from storage.models import Account, OrgUnit, Person, RoleAssignment

# Who is on a branch's committee: its secretary and deputies are, without being appointed.
COMMITTEE_ROLES = frozenset({Role.SECRETARY, Role.DEPUTY, Role.COMMITTEE})


def may_appoint(principal: Principal, branch: OrgUnit | None) -> bool:
    """Admins appoint committee members of the branches of their subtree."""
    return (
        branch is not None and branch.kind is OrgKind.BRANCH and principal.is_admin_of(branch.path)
    )


def on_committee(roles: list[RoleAssignment], branch_id: int) -> bool:
    """Whether someone already sits on the branch's committee."""
    return any(a.role in COMMITTEE_ROLES and a.org_unit_id == branch_id for a in roles)


async def appoint_committee(
    session: AsyncSession,
    *,
    person: Person,
    branch: OrgUnit,
    post: CommitteePost,
    actor: Account | None,
) -> RoleAssignment:
    """Make a member of the branch a committee member with a post (audited)."""
    assignment = await queries.grant_role(
        session, person=person, org_unit=branch, role=Role.COMMITTEE
    )
    assignment.post = post
    await queries.audit(
        session,
        action="role.grant",
        actor=actor,
        actor_label="bot" if actor is not None else "cli",
        target_type="person",
        target_id=person.id,
        org_unit_id=branch.id,
        details={"role": Role.COMMITTEE.value, "post": post.value, "org": branch.code},
    )
    await session.flush()
    return assignment
