"""The catalog's query string, read by WTForms; app/catalog/filters.py turns whatever arrives into sane filters."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import SearchField, StringField

from app.catalog.filters import CatalogFilters, parse_filters


class CatalogQueryForm(FlaskForm):
    """?q=&category=&cycle=&sort=&page= on the catalog, ?cycle= on a product page.

    Nothing here is refused: a value that makes no sense is dropped, or shortened with a
    notice, by `parse_filters`. A GET form, so no CSRF token.
    """

    class Meta:
        csrf = False

    q = SearchField()
    category = StringField()
    cycle = StringField()
    sort = StringField()
    page = StringField()

    @classmethod
    def read(cls) -> CatalogQueryForm:
        return cls(formdata=request.args)

    def filters(self) -> CatalogFilters:
        return parse_filters(self.data)
