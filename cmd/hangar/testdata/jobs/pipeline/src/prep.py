import argparse
import csv
import os

FEATURES = ["Clark_Lake", "temp", "humidity", "weather_rain"]

p = argparse.ArgumentParser()
p.add_argument("--raw_data", required=True)
p.add_argument("--test_fraction", type=float, required=True)
p.add_argument("--train_data", required=True)
p.add_argument("--test_data", required=True)
a = p.parse_args()

with open(a.raw_data, newline="") as f:
    rows = list(csv.DictReader(f))
rows.sort(key=lambda r: r["date"])
cut = int(len(rows) * (1 - a.test_fraction))
for path, part in ((a.train_data, rows[:cut]), (a.test_data, rows[cut:])):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "data.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ridership"] + FEATURES)
        for r in part:
            w.writerow([r["ridership"]] + [r[c] for c in FEATURES])
print(f"{cut} training rows, {len(rows) - cut} test rows")
