"""Store the spec and payload as the exact JSON text sent; add ``reference``; longer keys.

``jsonb`` cannot hold U+0000 or lone surrogates, which ``submit()`` sends fine: the outbox now
keeps the ASCII-escaped JSON text it sends, storable by every database.
"""

import json

from django.db import migrations, models

import waygrid_django.models


def _to_text(apps, schema_editor):  # type: ignore[no-untyped-def]
    from waygrid import Spec, WaygridError

    Submission = apps.get_model("waygrid_django", "Submission")
    db = schema_editor.connection.alias
    for row in Submission.objects.using(db).only("pk", "spec", "payload").iterator():
        try:
            spec_json = Spec.from_dict(row.spec).to_json()
        except WaygridError:  # kept as it was; sending it fails the row with the reason
            spec_json = json.dumps(row.spec, separators=(",", ":"))
        payload_json = None
        if row.payload is not None:
            payload_json = json.dumps(row.payload, separators=(",", ":"))
        Submission.objects.using(db).filter(pk=row.pk).update(
            spec_json=spec_json, payload_json=payload_json
        )


def _to_json(apps, schema_editor):  # type: ignore[no-untyped-def]
    Submission = apps.get_model("waygrid_django", "Submission")
    db = schema_editor.connection.alias
    for row in Submission.objects.using(db).only("pk", "spec_json", "payload_json").iterator():
        payload = None if row.payload_json is None else json.loads(row.payload_json)
        Submission.objects.using(db).filter(pk=row.pk).update(
            spec=json.loads(row.spec_json), payload=payload
        )


class Migration(migrations.Migration):
    dependencies = [("waygrid_django", "0001_initial")]  # noqa: RUF012

    operations = [  # noqa: RUF012
        migrations.AddField(
            model_name="submission",
            name="spec_json",
            field=models.TextField(
                default="",
                help_text='The spec\'s JSON text as sent (the value of "graph"), ASCII-escaped.',
                verbose_name="spec",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="submission",
            name="payload_json",
            field=models.TextField(
                blank=True,
                help_text="The payload's JSON text as sent (ASCII-escaped), if any.",
                null=True,
                verbose_name="payload",
            ),
        ),
        migrations.AlterField(
            model_name="submission",
            name="spec",
            field=models.JSONField(null=True),
        ),
        migrations.RunPython(_to_text, _to_json),
        migrations.RemoveField(model_name="submission", name="spec"),
        migrations.RemoveField(model_name="submission", name="payload"),
        migrations.AddField(
            model_name="submission",
            name="reference",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                help_text="Your own object this submission belongs to, e.g. 'order:42'.",
                max_length=255,
            ),
        ),
        migrations.AlterField(
            model_name="submission",
            name="idempotency_key",
            field=models.CharField(
                default=waygrid_django.models.new_idempotency_key,
                editable=False,
                max_length=255,
                unique=True,
            ),
        ),
    ]
