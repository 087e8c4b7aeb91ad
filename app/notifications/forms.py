"""What the notification center reads from a request: which page the person is on, and where to go back to."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField


class CenterForm(FlaskForm):
    """?page= on a link or the hidden fields of the center's buttons (GET and POST alike).

    It only says where the person is, so it carries no CSRF token of its own: CSRFProtect
    checks every POST before the view runs.
    """

    class Meta:
        csrf = False

    page = IntegerField()
    return_to = HiddenField()

    @classmethod
    def read(cls) -> CenterForm:
        return cls(formdata=request.values)

    @property
    def page_number(self) -> int:
        """The page asked for; 1 when none or not a number (the center clamps it to the pages there are)."""
        return self.page.data if isinstance(self.page.data, int) else 1

    @property
    def back_to_detail(self) -> bool:
        return bool(self.return_to.data == "detail")
