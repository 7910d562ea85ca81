from django.apps import AppConfig
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_delete, post_save


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from chat.domain.services import token_cache_forget
        from chat.http.ratelimit import login_failed
        from chat.models import ApiToken

        def token_changed(sender, instance, **kwargs):
            token_cache_forget(key_hashes=[instance.key_hash])

        def user_changed(sender, instance, **kwargs):
            key_hashes = list(ApiToken.objects.filter(user_id=instance.pk).values_list("key_hash", flat=True))
            if key_hashes:
                token_cache_forget(key_hashes=key_hashes)

        # A revoked token, or a deactivated user, stops working at once rather than when the cache expires.
        for signal in (post_save, post_delete):
            signal.connect(token_changed, sender=ApiToken, weak=False, dispatch_uid=f"token-cache-{signal}")
            signal.connect(user_changed, sender=get_user_model(), weak=False, dispatch_uid=f"user-token-cache-{signal}")

        def count_failed_sign_in(sender, credentials, request=None, **kwargs):
            if request is not None:
                login_failed(request, str(credentials.get("username", "")))

        user_login_failed.connect(count_failed_sign_in, weak=False, dispatch_uid="count-failed-sign-in")
