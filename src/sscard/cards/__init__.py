"""Applications and the card lifecycle: two status fields (production, application), loss, lock, replace, cancel."""
