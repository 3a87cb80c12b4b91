"""Action-recognition experiments: does synthetic data make a better classifier?

Train TimeSformer, ViViT or VideoMAE (``transformers``) on real and/or synthetic clips, evaluate on
a real test set, and sweep ablations and few-shot settings. One module per job:

* :mod:`.config`   - the YAML experiment config, validated with errors naming the field
* :mod:`.sources`  - clips from a class-folder tree, Toyota Smarthome, or an exported dataset
* :mod:`.shards`   - an export's Parquet shards, their videos written once to a content-addressed cache
* :mod:`.splits`   - class subsets, stratified splits, leak-free synthetic mixing, few-shot picks
* :mod:`.frames`   - frame sampling per model, PyAV decoding, ``transformers`` processors
* :mod:`.models`   - the three architectures, from scratch or from a Hub checkpoint
* :mod:`.training` - the training loop with checkpoint/resume
* :mod:`.metrics`  - top-1/top-5, mean per-class accuracy, confusion matrix
* :mod:`.results`  - results JSON, the appended results table, plots
* :mod:`.runner`   - one experiment end to end; :mod:`.sweeps` - ablation grid and few-shot sweep
"""
