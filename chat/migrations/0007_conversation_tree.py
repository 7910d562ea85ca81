"""A conversation is a tree: each message has a parent and a chat has an active branch. Existing chats become
one branch each (every message after the one before it, the last one active), with nothing lost. Chats get a
system prompt and temperature of their own, pinning and archiving; people get presets and share links.

The new columns are nullable or have constant defaults. On SQLite the message table is not rebuilt (its
search triggers stay): a nullable foreign key is a plain ALTER TABLE.
"""

import chat.fields
import chat.models
import django.db.models.deletion
import functools
from django.conf import settings
from django.db import migrations, models


# Each message follows the one before it in its chat; each chat's branch ends at its last message.
ONE_BRANCH = [
    "UPDATE chat_message SET parent_id = (SELECT p.id FROM chat_message p WHERE p.chat_id = chat_message.chat_id "
    "AND p.seq < chat_message.seq ORDER BY p.seq DESC LIMIT 1)",
    "UPDATE chat_chatinstance SET active_message_id = (SELECT m.id FROM chat_message m "
    "WHERE m.chat_id = chat_chatinstance.id ORDER BY m.seq DESC LIMIT 1)",
]


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0006_stored_text_and_context'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ChatShare',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.CharField(default=functools.partial(chat.models.new_public_id, *('sh',), **{}), editable=False, max_length=32, unique=True)),
                ('title', chat.fields.StoredCharField(blank=True, max_length=200)),
                ('messages', chat.fields.StoredJSONField(default=list)),
                ('include_recordings', models.BooleanField(default=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'verbose_name': 'shared link',
            },
        ),
        migrations.CreateModel(
            name='Preset',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.CharField(default=functools.partial(chat.models.new_public_id, *('pr',), **{}), editable=False, max_length=32, unique=True)),
                ('name', chat.fields.StoredCharField(max_length=100)),
                ('system_prompt', chat.fields.StoredTextField(blank=True)),
                ('temperature', models.FloatField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.AddField(
            model_name='chatinstance',
            name='active_message',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.message'),
        ),
        migrations.AddField(
            model_name='chatinstance',
            name='archived',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='chatinstance',
            name='pinned',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='chatinstance',
            name='system_prompt',
            field=chat.fields.StoredTextField(blank=True, help_text="Replaces the model's system prompt in this chat."),
        ),
        migrations.AddField(
            model_name='chatinstance',
            name='temperature',
            field=models.FloatField(blank=True, help_text="Replaces the model's temperature in this chat.", null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='parent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='children', to='chat.message'),
        ),
        migrations.AlterField(
            model_name='message',
            name='seq',
            field=models.PositiveIntegerField(help_text='1, 2, 3… within the conversation, in the order of writing.'),
        ),
        migrations.AddIndex(
            model_name='chatinstance',
            index=models.Index(fields=['owner', 'archived', '-pinned', '-updated_at'], name='chat_owner_list_idx'),
        ),
        migrations.RunSQL(ONE_BRANCH, migrations.RunSQL.noop),
        migrations.AddField(
            model_name='chatshare',
            name='chat',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shares', to='chat.chatinstance'),
        ),
        migrations.AddField(
            model_name='preset',
            name='chat_model',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.chatmodel'),
        ),
        migrations.AddField(
            model_name='preset',
            name='owner',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='chat_presets', to=settings.AUTH_USER_MODEL),
        ),
    ]
