"""Dataset export (layout, metadata.jsonl, dataset card) and push to the Hugging Face Hub."""
