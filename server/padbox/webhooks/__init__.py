"""Signed webhooks: a pad's report posted to PADBOX_WEBHOOK_URL when the pad ends (docs/pads.md, "Webhooks")."""
