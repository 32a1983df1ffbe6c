"""add readiness, on-boarding, pause, delivery and transfer tables

Revision ID: 29d3041627d6
Revises: 33c1577b4e67
Create Date: 2026-11-26 22:37:21.716558
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '29d3041627d6'
down_revision: str | None = '33c1577b4e67'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('delivery_id', sa.String(length=64), nullable=False),
    sa.Column('transaction_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('action_count', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_delivery_delivery_id')),
    sa.UniqueConstraint('transaction_id', name=op.f('uq_delivery_transaction_id'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_state_due', ['state', 'next_attempt_at'], unique=False)

    op.create_table('worker_status',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('circuit', sa.String(length=20), nullable=False),
    sa.Column('sent', sa.BigInteger(), nullable=False),
    sa.Column('receipts', sa.BigInteger(), nullable=False),
    sa.Column('retries', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_status'))
    )
    op.create_table('onboarding',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('claimant_id', sa.String(length=4), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=False),
    sa.Column('fordringstype', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding')),
    sa.UniqueConstraint('claimant_id', 'area', 'fordringstype', name=op.f('uq_onboarding_claimant_id_area_fordringstype'))
    )
    op.create_table('onboarding_change',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('claimant_id', sa.String(length=4), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=False),
    sa.Column('fordringstype', sa.String(length=16), nullable=False),
    sa.Column('old_state', sa.String(length=20), nullable=True),
    sa.Column('new_state', sa.String(length=20), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('released', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboarding_change'))
    )
    op.create_table('pause',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('claimant_id', sa.String(length=4), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=True),
    sa.Column('fordringstype', sa.String(length=16), nullable=True),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=100), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pause'))
    )
    with op.batch_alter_table('pause', schema=None) as batch_op:
        batch_op.create_index('ix_pause_active', ['lifted_at', 'area'], unique=False)

    op.create_table('transfer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('action_id', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('delivery_pk', sa.Uuid(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt_status', sa.String(length=20), nullable=True),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_transfer_claim_id_claim')),
    sa.ForeignKeyConstraint(['delivery_pk'], ['delivery.id'], name=op.f('fk_transfer_delivery_pk_delivery')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer')),
    sa.UniqueConstraint('action_id', name=op.f('uq_transfer_action_id')),
    sa.UniqueConstraint('claim_id', 'seq', name=op.f('uq_transfer_claim_id_seq'))
    )
    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.create_index('ix_transfer_area_state', ['area', 'state'], unique=False)
        batch_op.create_index('ix_transfer_delivery', ['delivery_pk'], unique=False)
        batch_op.create_index('ix_transfer_state_due', ['state', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('next_check_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('limitation_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('fordrings_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('psrm_errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_index('ix_claim_fordrings_id', ['fordrings_id'], unique=False)
        batch_op.create_index('ix_claim_limitation', ['state', 'limitation_date'], unique=False)
        batch_op.create_index('ix_claim_next_check', ['state', 'next_check_date'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_next_check')
        batch_op.drop_index('ix_claim_limitation')
        batch_op.drop_index('ix_claim_fordrings_id')
        batch_op.drop_column('psrm_errors')
        batch_op.drop_column('fordrings_id')
        batch_op.drop_column('limitation_date')
        batch_op.drop_column('next_check_date')
        batch_op.drop_column('holds')

    with op.batch_alter_table('transfer', schema=None) as batch_op:
        batch_op.drop_index('ix_transfer_state_due')
        batch_op.drop_index('ix_transfer_delivery')
        batch_op.drop_index('ix_transfer_area_state')

    op.drop_table('worker_status')
    op.drop_table('transfer')
    with op.batch_alter_table('pause', schema=None) as batch_op:
        batch_op.drop_index('ix_pause_active')

    op.drop_table('pause')
    op.drop_table('onboarding_change')
    op.drop_table('onboarding')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_state_due')

    op.drop_table('delivery')

