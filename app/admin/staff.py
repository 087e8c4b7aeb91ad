"""Who is acting on an admin page: the signed-in staff member, typed.

flask-login ships no type information; this is the admin's one place that reads `current_user`.
"""

from __future__ import annotations

import uuid

from flask_login import current_user

from app import rbac


def staff_id() -> uuid.UUID:
    """The id of the staff member making this request (the page's permission check ensures one is signed in)."""
    user_id: uuid.UUID = current_user.id
    return user_id


def staff_can(permission: str) -> bool:
    """Whether someone is signed in who holds `permission` (False for visitors)."""
    return rbac.can(current_user, permission)
