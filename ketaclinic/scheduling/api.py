"""JSON API for scheduling (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["scheduling"])
