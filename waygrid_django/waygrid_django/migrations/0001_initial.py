"""The outbox table: `Submission`."""

import django.utils.timezone
from django.db import migrations, models

import waygrid_django.models


class Migration(migrations.Migration):
    initial = True

    dependencies = []  # noqa: RUF012 (the form Django generates and reads)

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="Submission",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "spec",
                    models.JSONField(help_text='The spec\'s wire form (the value of "graph").'),
                ),
                (
                    "payload",
                    models.JSONField(
                        blank=True, help_text="Sent with the spec, if any.", null=True
                    ),
                ),
                (
                    "idempotency_key",
                    models.CharField(
                        default=waygrid_django.models.new_idempotency_key,
                        editable=False,
                        max_length=64,
                        unique=True,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("sending", "Sending"),
                            ("submitted", "Submitted"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
                (
                    "traversal_id",
                    models.CharField(blank=True, db_index=True, default="", max_length=26),
                ),
                (
                    "dag_hash",
                    models.CharField(blank=True, default="", max_length=16, verbose_name="dagHash"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now, editable=False
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "next_attempt_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now,
                        help_text="When a pending row is due, or a sending row's lease ends.",
                    ),
                ),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "claim_token",
                    models.CharField(blank=True, default="", editable=False, max_length=32),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["status", "next_attempt_at"], name="waygrid_due_idx")
                ],
            },
        ),
    ]
