"""LightGBM on the exact split the GBDT bench wrote (bench/gbdt-flights.ts), one thread.

Reads gbdt-{train,validation,test}.parquet from the directory given as the first argument and prints one
JSON object: test AUC, fit seconds, best iteration. Defaults as LightGBM ships them (100 rounds, 31
leaves, learning rate 0.1), native categoricals for origin and destination, early stopping on the
validation split with the same patience the Sluice bench uses (second argument).
"""

import json
import sys
import time

import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score

folder = sys.argv[1]
patience = int(sys.argv[2]) if len(sys.argv) > 2 else 20
features = ["hour", "weekday", "distance", "origin", "destination"]
categorical = ["origin", "destination"]


def read(split):
    frame = pd.read_parquet(f"{folder}/gbdt-{split}.parquet")
    for name in categorical:
        frame[name] = frame[name].astype("int32")
    return frame[features], frame["label"].astype("int32")


x_train, y_train = read("train")
x_valid, y_valid = read("validation")
x_test, y_test = read("test")
params = {"objective": "binary", "num_threads": 1, "verbose": -1, "seed": 42, "deterministic": True}
started = time.perf_counter()
train_set = lgb.Dataset(x_train, y_train, categorical_feature=categorical)
valid_set = lgb.Dataset(x_valid, y_valid, reference=train_set, categorical_feature=categorical)
booster = lgb.train(
    params,
    train_set,
    num_boost_round=100,
    valid_sets=[valid_set],
    callbacks=[lgb.early_stopping(patience, verbose=False)],
)
seconds = time.perf_counter() - started
auc = roc_auc_score(y_test, booster.predict(x_test, num_iteration=booster.best_iteration))
print(
    json.dumps(
        {
            "auc": auc,
            "seconds": seconds,
            "bestIteration": booster.best_iteration,
            "rows": len(x_train),
            "version": lgb.__version__,
        }
    )
)
