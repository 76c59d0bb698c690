"""The exception family of the models package."""

from __future__ import annotations

from hcp.exceptions import HcpError


class ModelError(HcpError):
    """Base of every error the models package raises on purpose."""


class InputDataError(ModelError):
    """An input file or frame lacks columns, has unusable values or too little history; the message says which."""


class RegistryError(ModelError):
    """A model artifact could not be saved or read back."""
