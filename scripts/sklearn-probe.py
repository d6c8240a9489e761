#!/usr/bin/env python3
"""scikit-learn's logistic regression on embeddings exported by transfer.

Usage: scripts/sklearn-probe.py TRAIN_NPY_DIR TEST_NPY_DIR

The folders are `transfer cache export` outputs (embeddings.npy,
labels.npy). Prints the test accuracy of LogisticRegression(C) for six
values of C, raw and standardised, the C chosen on a 20% stratified
validation split of the training rows for three seeds, and the wall time of
GridSearchCV over the six C with 5 folds on all cores: the reference of
BENCHMARKS.md's experiment section. Needs python3-sklearn.
"""
import sys, time, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore", category=ConvergenceWarning)
tr, te = sys.argv[1], sys.argv[2]
Xtr, ytr = np.load(f"{tr}/embeddings.npy"), np.load(f"{tr}/labels.npy")
Xte, yte = np.load(f"{te}/embeddings.npy"), np.load(f"{te}/labels.npy")
Cs = [1e-3, 1e-2, 1e-1, 1, 10, 100]
for std in (False, True):
    A, B = Xtr, Xte
    if std:
        s = StandardScaler().fit(Xtr)
        A, B = s.transform(Xtr), s.transform(Xte)
    name = "standardised" if std else "raw"
    res = []
    for C in Cs:
        t = time.time()
        m = LogisticRegression(C=C, max_iter=1000).fit(A, ytr)
        res.append((C, m.score(B, yte), time.time() - t))
    print(name, "test accuracy by C:", " ".join(f"{c:g}:{a:.3f} ({s:.1f}s)" for c, a, s in res))
    for seed in (1, 2, 3):
        a, v, ya, yv = train_test_split(A, ytr, test_size=0.2, stratify=ytr, random_state=seed)
        best = max(Cs, key=lambda C: LogisticRegression(C=C, max_iter=1000).fit(a, ya).score(v, yv))
        m = LogisticRegression(C=best, max_iter=1000).fit(a, ya)
        print(f"{name} C chosen on a validation split (seed {seed}): C={best:g}, test accuracy {m.score(B, yte):.3f}")
t = time.time()
g = GridSearchCV(LogisticRegression(max_iter=1000), {"C": Cs}, cv=StratifiedKFold(5, shuffle=True, random_state=0), n_jobs=-1).fit(Xtr, ytr)
print(f"GridSearchCV, 6 C x 5 folds: {time.time() - t:.1f} s; chose C={g.best_params_['C']:g}, test accuracy {g.score(Xte, yte):.3f}")
