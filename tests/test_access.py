"""Scope rules: admins over subtrees, secretaries over their branch, invites at or below rank."""

from bot.access import Grant, Principal
from bot.enums import OrgKind, Role

COMMITTEE = Grant(Role.ADMIN, 1, "/1/", OrgKind.COMMITTEE, "C1")
BRANCH_A = (2, "/1/2/", OrgKind.BRANCH)
BRANCH_B = (3, "/1/3/", OrgKind.BRANCH)
OTHER_TREE = (9, "/9/10/", OrgKind.BRANCH)


def test_admin_scope_is_the_subtree() -> None:
    admin = Principal(person_id=1, grants=(COMMITTEE,))
    assert admin.is_admin_of("/1/2/")
    assert not admin.is_admin_of("/9/10/")
    assert admin.invitable_roles("/1/2/", 2, OrgKind.BRANCH) == [
        Role.ADMIN,
        Role.SECRETARY,
        Role.DEPUTY,
        Role.MEMBER,
    ]
    # Only admins can be invited to a node that is not a branch.
    assert admin.invitable_roles("/1/", 1, OrgKind.COMMITTEE) == [Role.ADMIN]
    assert admin.invitable_roles(OTHER_TREE[1], OTHER_TREE[0], OTHER_TREE[2]) == []


def test_secretary_invites_within_branch_up_to_own_rank() -> None:
    secretary = Principal(
        person_id=2,
        branch_id=2,
        branch_path="/1/2/",
        grants=(Grant(Role.SECRETARY, 2, "/1/2/", OrgKind.BRANCH, "B1"),),
    )
    assert secretary.invitable_roles("/1/2/", 2, OrgKind.BRANCH) == [
        Role.SECRETARY,
        Role.DEPUTY,
        Role.MEMBER,
    ]
    assert secretary.invitable_roles(BRANCH_B[1], BRANCH_B[0], BRANCH_B[2]) == []
    assert not secretary.may_invite(Role.ADMIN, "/1/2/", 2, OrgKind.BRANCH)


def test_members_do_not_invite() -> None:
    member = Principal(person_id=3, branch_id=2, branch_path="/1/2/")
    assert member.roles() == {Role.MEMBER}
    assert member.invitable_roles("/1/2/", 2, OrgKind.BRANCH) == []


def test_deputy_cannot_invite_a_secretary() -> None:
    deputy = Principal(
        person_id=4, branch_id=2, grants=(Grant(Role.DEPUTY, 2, "/1/2/", OrgKind.BRANCH, "B1"),)
    )
    assert deputy.invitable_roles("/1/2/", 2, OrgKind.BRANCH) == [Role.DEPUTY, Role.MEMBER]
