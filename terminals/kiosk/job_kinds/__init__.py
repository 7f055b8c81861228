"""The job panels per kind of job, one module per family of flows like the edge's own flows.

`terminals.kiosk.panels.JobPanel` mounts them all and shows the one the edge's answer names.
"""
