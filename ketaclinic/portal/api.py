"""JSON API for portal (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["portal"])
