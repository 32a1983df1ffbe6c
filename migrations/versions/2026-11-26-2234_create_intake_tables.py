"""create source_message, claim and claim_event

Revision ID: 33c1577b4e67
Revises: 
Create Date: 2026-11-26 22:34:18.986415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '33c1577b4e67'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('source_message',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('principal', sa.String(length=100), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('accepted_count', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_message')),
    sa.UniqueConstraint('source', 'message_id', name=op.f('uq_source_message_source_message_id'))
    )
    op.create_table('claim',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_reference', sa.String(length=64), nullable=False),
    sa.Column('message_pk', sa.Uuid(), nullable=False),
    sa.Column('claim_index', sa.Integer(), nullable=False),
    sa.Column('claimant_id', sa.String(length=4), nullable=True),
    sa.Column('claimant_reference', sa.String(length=64), nullable=True),
    sa.Column('fordringstype', sa.String(length=16), nullable=True),
    sa.Column('business_area', sa.String(length=40), nullable=True),
    sa.Column('category', sa.String(length=2), nullable=True),
    sa.Column('main_claim_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('principal', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('problems', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['main_claim_id'], ['claim.id'], name=op.f('fk_claim_main_claim_id_claim')),
    sa.ForeignKeyConstraint(['message_pk'], ['source_message.id'], name=op.f('fk_claim_message_pk_source_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim')),
    sa.UniqueConstraint('source', 'source_reference', name=op.f('uq_claim_source_source_reference'))
    )
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.create_index('ix_claim_fordringstype', ['fordringstype'], unique=False)
        batch_op.create_index('ix_claim_received', ['received_at'], unique=False)
        batch_op.create_index('ix_claim_source_received', ['source', 'received_at'], unique=False)
        batch_op.create_index('ix_claim_state_area', ['state', 'business_area'], unique=False)

    op.create_table('claim_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('claim_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_claim_event_claim_id_claim')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_event'))
    )
    with op.batch_alter_table('claim_event', schema=None) as batch_op:
        batch_op.create_index('ix_claim_event_claim', ['claim_id', 'id'], unique=False)




def downgrade() -> None:
    
    with op.batch_alter_table('claim_event', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_event_claim')

    op.drop_table('claim_event')
    with op.batch_alter_table('claim', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_state_area')
        batch_op.drop_index('ix_claim_source_received')
        batch_op.drop_index('ix_claim_received')
        batch_op.drop_index('ix_claim_fordringstype')

    op.drop_table('claim')
    op.drop_table('source_message')

