"""JSON API for consents (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["consents"])
