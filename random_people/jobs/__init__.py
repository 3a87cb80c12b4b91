"""Bulk jobs: a job spec expands into extraction and render tasks, logged in a SQL database.

``spec`` (what the curator asks for) -> ``expand`` (deterministic, content-addressed tasks) ->
``queue`` (the log: every state change, claims, heartbeats) -> ``worker`` / ``local_executor`` /
``ray_executor`` (who runs ``tasks``) -> ``progress`` / ``review`` / ``export_source`` (what the
app, the CLI and the exporter read back). Nothing here knows about Gradio.
"""
