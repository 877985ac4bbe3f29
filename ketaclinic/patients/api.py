"""JSON API for patients (mounted in ketaclinic/api.py)."""

from ninja import Router

router = Router(tags=["patients"])
