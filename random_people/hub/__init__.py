"""Dataset export (layout, metadata.jsonl, dataset card) and push to the Hugging Face Hub.

- ``records``: ExportClip / RealClip, what the job log hands over (the contract with ``jobs``)
- ``layout``: where every file goes; ``rows``: one metadata row per clip; ``splits``: leak-free splits
- ``card``: the dataset card; ``manifest``: what a folder holds (incremental exports)
- ``export``: ``export_dataset``; ``shards``: Parquet shards for large exports
- ``push``: ``push_dataset`` (resumable, incremental); ``sources``: clips from the job log
- ``errors``: ExportError 20, DiskFullError 21, HubAuthError 22, HubRepoError 23, HubPushError 24
"""
