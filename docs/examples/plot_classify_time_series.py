"""
Time-series classification beside mean pooling
===============================================

JapaneseVowels (aeon ships it): 270 training and 370 test utterances, 12 cepstral
coefficients a frame, each frame a leaf. ``RAEClassifier()`` with its defaults
against a logistic regression on the mean of the frames (mean pooling), on the
same test split.
"""

import matplotlib.pyplot as plt
import numpy as np
from aeon.datasets import load_classification
from greedy_rae.sklearn import RAEClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_classification("JapaneseVowels", split="train")
X_test, y_test = load_classification("JapaneseVowels", split="test")
train, test = [x.T for x in X], [x.T for x in X_test]  # (time, channels)

pooling = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
pooling.fit(np.stack([s.mean(axis=0) for s in train]), y)
pooled = pooling.score(np.stack([s.mean(axis=0) for s in test]), y_test)
rae = RAEClassifier(random_state=0).fit(train, y).score(test, y_test)
print(f"mean pooling {pooled:.3f}, RAEClassifier() {rae:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.barh(["mean pooling + LR", "RAEClassifier()"], [pooled, rae], color=["grey", "C0"])
ax.set(xlim=(0.9, 1.0), xlabel="test accuracy", title="JapaneseVowels")
for k, v in enumerate([pooled, rae]):
    ax.text(v, k, f" {v:.3f}", va="center")
fig.tight_layout()
