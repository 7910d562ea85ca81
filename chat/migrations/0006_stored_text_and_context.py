"""Text from outside is stored without NUL (``chat.fields``), a turn fits its model's context
(``chat.domain.context``), and an admin chooses the default model.

The text columns do not change type, so their new field classes touch only the migration state: on SQLite an
AlterField would rebuild the message table, and its search triggers with it. The two new columns are
nullable, so adding them is a plain ALTER TABLE on every database.
"""

from django.db import migrations, models

import chat.fields

STORED = [
    ("chatinstance", "review_notes", chat.fields.StoredTextField(blank=True)),
    ("chatinstance", "title", chat.fields.StoredCharField(blank=True, max_length=200)),
    ("feedback", "comment", chat.fields.StoredTextField(blank=True)),
    ("message", "content", chat.fields.StoredTextField(blank=True)),
    ("message", "corrected_content",
     chat.fields.StoredTextField(blank=True, help_text="A reviewer's correction of the transcript.")),
    ("message", "error_detail", chat.fields.StoredTextField(blank=True)),
    ("message", "flag_note", chat.fields.StoredTextField(blank=True)),
    ("message", "reasoning",
     chat.fields.StoredTextField(blank=True, help_text="Reasoning the model streamed before its answer.")),
    ("message", "tool_calls", chat.fields.StoredJSONField(blank=True, default=list)),
]  # fmt: skip

CONTEXT_HELP = (
    "Tokens the model takes at once, prompt and answer (blank: LOCAL_LLM_CONTEXT for the local model, "
    "LLM_DEFAULT_CONTEXT for others). Older history is trimmed to fit."
)

DEFAULT_HELP = "Preselected for new chats (one model at a time: checking it here unchecks the others)."


class Migration(migrations.Migration):
    dependencies = [("chat", "0005_tools_and_search")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AlterField(model, name, field) for model, name, field in STORED]
        ),
        migrations.AddField(
            "chatmodel", "context_window", models.PositiveIntegerField(blank=True, null=True, help_text=CONTEXT_HELP)
        ),
        migrations.AddField("message", "context_trimmed", models.PositiveIntegerField(blank=True, null=True)),
        migrations.AddField("chatmodel", "is_default", models.BooleanField(default=False, help_text=DEFAULT_HELP)),
    ]
