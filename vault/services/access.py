"""Who may open what: membership of the case, not the role, opens evidence.

Every lookup of a case or an item on behalf of a user goes through here, so
"absent" and "not yours" give the same refusal everywhere (one 404, word for
word) and an admin, who is not a reader, is refused like a stranger.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.db.models import Case, CaseMember, Item, User
from vault.services.errors import not_found
from vault.storage.files import is_id

READER_ROLES = ("lawyer", "medic")


def member_case(s: Session, case_id: str, user: User) -> Case:
    """The case, if `user` is a member; 404 otherwise (also for admins)."""
    if not is_id(case_id):
        raise not_found("case")
    row = s.execute(
        select(Case).join(CaseMember, CaseMember.case_id == Case.id)
        .where(Case.id == case_id, CaseMember.user_id == user.id)
    ).scalar_one_or_none()
    if row is None or user.role not in READER_ROLES:
        raise not_found("case")
    return row


def member_case_ids(s: Session, user: User) -> list[str]:
    """The ids of the cases whose evidence `user` may read."""
    if user.role not in READER_ROLES:
        return []
    return list(s.execute(select(CaseMember.case_id).where(CaseMember.user_id == user.id)).scalars())


def member_item(s: Session, item_id: str, user: User) -> Item:
    """The item, if `user` is a member of its case; 404 otherwise."""
    item = s.get(Item, item_id) if is_id(item_id) else None
    if item is None:
        raise not_found("item")
    member_case(s, item.case_id, user)
    return item
