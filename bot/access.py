"""Who is acting and what they may do: pure scope rules over the organisation tree."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.enums import OrgKind, Role

# Higher number = more authority; invites may grant only roles at or below the inviter's own.
ROLE_RANK = {
    Role.MEMBER: 0,
    # A committee member or a party group's leader invites nobody.
    Role.COMMITTEE: 0,
    Role.GROUP_LEADER: 0,
    Role.DEPUTY: 1,
    Role.SECRETARY: 2,
    Role.ADMIN: 3,
}


@dataclass(frozen=True, slots=True)
class Grant:
    """One role at one node, with the node's path for subtree checks."""

    role: Role
    org_id: int
    org_path: str
    org_kind: OrgKind
    org_code: str


@dataclass(frozen=True, slots=True)
class Principal:
    """The roles of whoever sent an update (empty for someone not registered)."""

    person_id: int | None = None
    branch_id: int | None = None
    branch_path: str | None = None
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def registered(self) -> bool:
        """True when the account is linked to a person."""
        return self.person_id is not None

    def roles(self) -> set[Role]:
        """Every role held anywhere (member when on a branch roster)."""
        held = {g.role for g in self.grants}
        if self.branch_id is not None:
            held.add(Role.MEMBER)
        return held

    def is_admin_of(self, org_path: str) -> bool:
        """True when an admin grant's subtree contains the node."""
        return any(g.role is Role.ADMIN and org_path.startswith(g.org_path) for g in self.grants)

    def leads_branch(self, branch_id: int) -> bool:
        """Secretary or deputy of this branch."""
        return any(
            g.role in (Role.SECRETARY, Role.DEPUTY) and g.org_id == branch_id for g in self.grants
        )

    def led_branches(self) -> list[Grant]:
        """The branches this person leads as secretary or deputy."""
        return [g for g in self.grants if g.role in (Role.SECRETARY, Role.DEPUTY)]

    def leads_group(self, group_id: int) -> bool:
        """Leader of this party group."""
        return any(g.role is Role.GROUP_LEADER and g.org_id == group_id for g in self.grants)

    def led_groups(self) -> list[Grant]:
        """The party groups this person leads."""
        return [g for g in self.grants if g.role is Role.GROUP_LEADER]

    def admin_grants(self) -> list[Grant]:
        """The subtrees this person administers."""
        return [g for g in self.grants if g.role is Role.ADMIN]

    def rank_at(self, org_path: str, org_id: int) -> int:
        """The highest authority this person has over a node (-1 for none)."""
        best = -1
        for grant in self.grants:
            if grant.role is Role.ADMIN and org_path.startswith(grant.org_path):
                best = max(best, ROLE_RANK[Role.ADMIN])
            elif grant.org_id == org_id:
                best = max(best, ROLE_RANK[grant.role])
        return best

    def may_invite(self, role: Role, org_path: str, org_id: int, org_kind: OrgKind) -> bool:
        """Invites only within scope: admins and secretaries for roles up to their own,
        deputies for members only."""
        if role is not Role.ADMIN and org_kind is not OrgKind.BRANCH:
            return False
        rank = self.rank_at(org_path, org_id)
        if rank == ROLE_RANK[Role.DEPUTY]:
            # A deputy inviting deputies would let one deputy appoint others.
            return role is Role.MEMBER
        # Members don't hand out invites.
        return rank > ROLE_RANK[Role.DEPUTY] and ROLE_RANK[role] <= rank

    def invitable_roles(self, org_path: str, org_id: int, org_kind: OrgKind) -> list[Role]:
        """The roles this person may invite to a node, highest first."""
        order = (Role.ADMIN, Role.SECRETARY, Role.DEPUTY, Role.MEMBER)
        return [r for r in order if self.may_invite(r, org_path, org_id, org_kind)]

    def may_revoke(self, role: Role, org_path: str) -> bool:
        """Admins take back roles (and invites) within their subtree; an admin role only
        strictly below their own node, so peers and superiors are out of reach."""
        return any(
            g.role is Role.ADMIN
            and org_path.startswith(g.org_path)
            and (role is not Role.ADMIN or org_path != g.org_path)
            for g in self.grants
        )

    def oversees(self, person: PersonScope) -> bool:
        """Whether the person is in this admin's subtree: on a roster there, removed from one,
        or holding a role there."""
        paths = [p for p in (person.branch_path, person.left_branch_path) if p]
        paths += [path for _role, path in person.grants]
        return any(self.is_admin_of(path) for path in paths)

    def may_manage(self, person: PersonScope) -> bool:
        """Whether an admin may unlink this person's account: someone else, in their subtree,
        holding no role the admin could not take back."""
        if person.person_id == self.person_id or not self.oversees(person):
            return False
        return all(self.may_revoke(role, path) for role, path in person.grants)

    def may_remove_from_branch(self, person: PersonScope) -> bool:
        """Whether an admin may take this person off their branch's roster."""
        return (
            person.person_id != self.person_id
            and person.branch_path is not None
            and self.is_admin_of(person.branch_path)
        )


@dataclass(frozen=True, slots=True)
class PersonScope:
    """Where a person sits in the tree, for deciding who may change their access."""

    person_id: int
    branch_path: str | None = None
    left_branch_path: str | None = None
    grants: tuple[tuple[Role, str], ...] = ()
