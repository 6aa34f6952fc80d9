"""Scope rules: admins over subtrees, secretaries over their branch, invites at or below rank."""

from bot.access import Grant, PersonScope, Principal
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


def test_deputy_invites_members_only() -> None:
    deputy = Principal(
        person_id=4, branch_id=2, grants=(Grant(Role.DEPUTY, 2, "/1/2/", OrgKind.BRANCH, "B1"),)
    )
    # Neither a secretary nor another deputy: one deputy cannot appoint others.
    assert deputy.invitable_roles("/1/2/", 2, OrgKind.BRANCH) == [Role.MEMBER]
    assert not deputy.may_invite(Role.DEPUTY, "/1/2/", 2, OrgKind.BRANCH)


ADMIN = Principal(person_id=1, grants=(COMMITTEE,))


def test_admins_take_back_roles_within_their_subtree_and_below_their_own() -> None:
    assert ADMIN.may_revoke(Role.SECRETARY, "/1/2/")
    assert ADMIN.may_revoke(Role.ADMIN, "/1/5/")  # an admin of a general branch below
    assert not ADMIN.may_revoke(Role.ADMIN, "/1/")  # a peer at the same node
    assert not ADMIN.may_revoke(Role.SECRETARY, "/9/10/")  # another subtree
    secretary = Principal(
        person_id=2, grants=(Grant(Role.SECRETARY, 2, "/1/2/", OrgKind.BRANCH, "B1"),)
    )
    assert not secretary.may_revoke(Role.MEMBER, "/1/2/")


def test_who_an_admin_may_unlink_or_remove() -> None:
    member = PersonScope(person_id=7, branch_path="/1/2/")
    assert ADMIN.may_manage(member) and ADMIN.may_remove_from_branch(member)
    assert ADMIN.oversees(PersonScope(person_id=7, left_branch_path="/1/2/"))
    outsider = PersonScope(person_id=8, branch_path="/9/10/")
    assert not ADMIN.oversees(outsider)
    assert not ADMIN.may_manage(outsider) and not ADMIN.may_remove_from_branch(outsider)
    # A member of a branch below who is also an admin higher up is out of reach (unlinking
    # them would lock a superior out), though their place on the roster is not.
    superior = PersonScope(person_id=9, branch_path="/1/2/", grants=((Role.ADMIN, "/"),))
    assert not ADMIN.may_manage(superior) and ADMIN.may_remove_from_branch(superior)
    peer = PersonScope(person_id=10, grants=((Role.ADMIN, "/1/"),))
    assert ADMIN.oversees(peer) and not ADMIN.may_manage(peer)
    myself = PersonScope(person_id=1, branch_path="/1/2/", grants=((Role.ADMIN, "/1/"),))
    assert not ADMIN.may_manage(myself) and not ADMIN.may_remove_from_branch(myself)
