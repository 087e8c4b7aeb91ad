from tests.admin.conftest import admin_client

__all__ = ["admin_client"]
