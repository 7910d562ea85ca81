"""Text from outside is stored without NUL (``chat.fields``). The columns do not change, so nothing runs on
the database: on SQLite an AlterField would rebuild the message table, and its search triggers with it."""

import chat.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_tools_and_search'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AlterField(
            model_name='chatinstance',
            name='review_notes',
            field=chat.fields.StoredTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='chatinstance',
            name='title',
            field=chat.fields.StoredCharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='feedback',
            name='comment',
            field=chat.fields.StoredTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='message',
            name='content',
            field=chat.fields.StoredTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='message',
            name='corrected_content',
            field=chat.fields.StoredTextField(blank=True, help_text="A reviewer's correction of the transcript."),
        ),
        migrations.AlterField(
            model_name='message',
            name='error_detail',
            field=chat.fields.StoredTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='message',
            name='flag_note',
            field=chat.fields.StoredTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='message',
            name='reasoning',
            field=chat.fields.StoredTextField(blank=True, help_text='Reasoning the model streamed before its answer.'),
        ),
        migrations.AlterField(
            model_name='message',
            name='tool_calls',
            field=chat.fields.StoredJSONField(blank=True, default=list),
        ),
    ])]
