"""JSON API for screening (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["screening"])
