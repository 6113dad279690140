from django.urls import re_path

from inbox.consumers import FeedConsumer, InboxConsumer, LobbyConsumer, MemberFeedConsumer

websocket_urlpatterns = [
    re_path(r"^live/feed/$", FeedConsumer.as_asgi()),
    re_path(r"^live/members/(?P<member>[0-9a-f-]{36})/$", MemberFeedConsumer.as_asgi()),
    re_path(r"^live/inbox/$", InboxConsumer.as_asgi()),
    re_path(r"^live/lobby/?$", LobbyConsumer.as_asgi()),
]
