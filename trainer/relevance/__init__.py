"""Gold-relevance distillation: label demonstrations by their reasoning benefit, distil that into a retriever.

Modules, by role (as sentence-transformers separates trainer, losses and evaluators):
    candidates      per-query candidate pools (semantic top-N + random), the query itself excluded
    benefit         teacher-forced benefit scorer (batched, padding-aware) and the optional sampled score
    labels          the label dataset: resumable shards, validation, checksum, summary statistics
    labeling        `rarft label`
    losses          KL + contrastive loss for the bi-encoder
    evaluators      validation evaluators (strategy-match via IR evaluator, nDCG against gold benefit)
    distill         `rarft distill`
    metrics         strategy-match@k, nDCG@k, diversity
    retriever_eval  `rarft eval-retriever` and `evaluate_versions()` for the experiment pipeline
Retriever versions are loaded and searched through shared.versions, data splits read through shared.rows.
"""
