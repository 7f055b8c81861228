"""Security events: refusals worth an administrator's eye, counted per source."""
