from django.contrib.auth.backends import RemoteUserBackend


class GoRemoteUserBackend(RemoteUserBackend):
    """Trust REMOTE_USER, set by the Go program after its own login, but
    only for users that exist: the Go program creates the admin on start,
    and no request can conjure up another account."""

    create_unknown_user = False
