"""`flask fee seller` sets the seller details as the fee page's second form does: same audit row, same refusals."""

from tests.cli.test_cli_page_parity import _events, _page_and_command_rows


def test_the_seller_details_from_the_page_and_the_command_audit_the_same(app, admin_client, runner):
    page = {"name": "Acme GmbH", "address": "Hauptstraße 5\n10115 Berlin", "tax_id": "DE1"}
    assert admin_client.post("/admin/fee/seller", data=page).status_code == 303
    result = runner.invoke(
        args=["fee", "seller", "--name", "Acme AG", "--address", r"Bahnhofstrasse 1\n8001 Zürich", "--tax-id", "CHE-1"]
    )
    assert result.exit_code == 0 and "issued by Acme AG" in result.output
    by_page, by_command = _page_and_command_rows(app, admin_client, "seller.changed")
    assert by_page.target_id == by_command.target_id == "1"
    assert by_page.after == page and by_command.before == page
    assert by_command.after == {"name": "Acme AG", "address": "Bahnhofstrasse 1\n8001 Zürich", "tax_id": "CHE-1"}


def test_bad_seller_details_from_the_command_are_refused_like_on_the_page(app, admin_client, runner):
    assert admin_client.post("/admin/fee/seller", data={"name": "", "address": "x"}).status_code == 400
    result = runner.invoke(args=["fee", "seller", "--name", " ", "--address", "x"])
    assert result.exit_code != 0 and "Enter the name invoices are issued in" in result.output
    assert _events(app, "seller.changed") == []
