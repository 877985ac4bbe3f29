"""JSON API for measures (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["measures"])
