"""Errors that carry a message a user can read."""


class GuatuError(Exception):
    """Base class: `str(error)` is shown to the user as is."""


class SettingsError(GuatuError):
    """A setting is missing or malformed; names the setting."""


class PermissionDeniedError(GuatuError):
    """The person may not do this."""


class NotFoundError(GuatuError):
    """Something asked for does not exist."""
