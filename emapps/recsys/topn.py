"""Top-N recommendation from any model's score matrix, and the protocol's ranking metrics."""

import numpy as np


class TopN:
    """Mixin: ``recommend`` from ``scores(users) -> (len(users), I)``."""

    def recommend(self, users, n=10, seen=None) -> np.ndarray:
        """Top-``n`` item codes per user code, best first; ``seen`` (a users x items CSR
        matrix, e.g. the training ratings) removes items the user already has."""
        users = np.asarray(users, dtype=np.int64)
        scores = self.scores(users)
        if seen is not None:
            scores[seen[users].nonzero()] = -np.inf
        n = min(n, scores.shape[1])
        top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1)


def ranking_metrics(recommended: np.ndarray, relevant: dict, n_items: int, k: int = 10) -> dict:
    """P@k, R@k, NDCG@k (binary gains, ideal DCG of min(k, |rel|) hits), MAP@k (normalised
    by min(k, |rel|)), HR@k averaged over users with relevant items; catalogue coverage.
    ``recommended`` rows are user codes; ``relevant`` maps a user code to its item set."""
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    names = [f"{metric}@{k}" for metric in ("P", "R", "NDCG", "MAP", "HR")]
    totals = dict.fromkeys(names, 0.0)
    for user, items in relevant.items():
        hits = np.array([item in items for item in recommended[user, :k]], dtype=float)
        ideal = min(k, len(items))
        precision_at = np.cumsum(hits) / np.arange(1, k + 1)
        values = (hits.sum() / k, hits.sum() / len(items),
                  (hits * discount).sum() / discount[:ideal].sum(),
                  (precision_at * hits).sum() / ideal, float(hits.any()))
        for name, value in zip(names, values):
            totals[name] += value
    metrics = {name: value / max(len(relevant), 1) for name, value in totals.items()}
    metrics["coverage"] = len(np.unique(recommended[:, :k])) / n_items
    metrics["users"] = len(relevant)
    return metrics
