"""Indexes on when messages and feedback were written, for the insights rollups (insights/services.py), which
re-read the last days on every refresh. Plain CREATE INDEX on every database (no table is rebuilt)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("chat", "0007_conversation_tree")]

    operations = [
        migrations.AddIndex(
            model_name="message", index=models.Index(fields=["created_at"], name="message_created_idx")
        ),
        migrations.AddIndex(
            model_name="feedback", index=models.Index(fields=["created_at"], name="feedback_created_idx")
        ),
    ]
