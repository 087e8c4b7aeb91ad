"""per-seat plans: plan.per_seat with min_seats/max_seats, plan_change.from_quantity/to_quantity

Revision ID: f3a8c1d5e7b9
Revises: d4e7a2b9c1f0
Create Date: 2026-12-08 00:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a8c1d5e7b9"
down_revision = "d4e7a2b9c1f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("per_seat", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("min_seats", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("max_seats", sa.Integer(), server_default="100", nullable=False))
        batch.create_check_constraint("seat_limits", "min_seats >= 1 AND max_seats >= min_seats AND max_seats <= 100")
    with op.batch_alter_table("plan_change") as batch:
        batch.add_column(sa.Column("from_quantity", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("to_quantity", sa.Integer(), server_default="1", nullable=False))
        batch.create_check_constraint("quantities_positive", "from_quantity >= 1 AND to_quantity >= 1")
    # Changes recorded before seats kept the subscription's quantity: say so.
    op.execute(
        "UPDATE plan_change SET"
        " from_quantity = (SELECT quantity FROM subscription WHERE subscription.id = plan_change.subscription_id),"
        " to_quantity = (SELECT quantity FROM subscription WHERE subscription.id = plan_change.subscription_id)"
    )


def downgrade():
    with op.batch_alter_table("plan_change") as batch:
        batch.drop_constraint(op.f("ck_plan_change_quantities_positive"), type_="check")
        batch.drop_column("to_quantity")
        batch.drop_column("from_quantity")
    with op.batch_alter_table("plan") as batch:
        batch.drop_constraint(op.f("ck_plan_seat_limits"), type_="check")
        batch.drop_column("max_seats")
        batch.drop_column("min_seats")
        batch.drop_column("per_seat")
