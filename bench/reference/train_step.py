#!/usr/bin/env python3
"""PyTorch reference for accelab's `train-step` benchmark.

Same models, batch, loss and optimizer as bench/trainstep.ts: one training step = forward,
softmax cross-entropy, backward, SGD update (lr 0.01), on random data, batch 64, NHWC inputs
converted to PyTorch's NCHW. Single thread: torch.set_num_threads(1) and OPENBLAS/OMP/MKL
thread counts of 1 (set before torch is imported). Prints one JSON object on stdout:
{"torch": version, "threads": 1, "results": [{"case", "model", "input", "batch", "msPerStep", "imagesPerSec",
"cpuMsPerStep", "imagesPerCpuSec", "reps", "stepsPerRep"}]} (CPU = process CPU time, robust to other load)]}.

Usage: train_step.py [--reps N] [--warmup N] [--models a,b,c] [--batch 64]
"""
import os

for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class CnnSmall(nn.Module):
    """conv32 3x3 relu -> maxpool2 -> conv64 3x3 relu -> maxpool2 -> fc128 relu -> fc10 ('same')."""

    def __init__(self, c, hw, k=10):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * (hw // 4) * (hw // 4), 128)
        self.fc2 = nn.Linear(128, k)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    """Basic block; shortcut option B (1x1 conv + BN projection where the shape changes)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        r = F.relu(self.b1(self.c1(x)))
        r = self.b2(self.c2(r))
        return F.relu(r + (x if self.sc is None else self.sc(x)))


class ResNet20(nn.Module):
    def __init__(self, k=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for s, ch in enumerate((16, 32, 64)):
            for i in range(3):
                layers.append(Block(cin, ch, 2 if s > 0 and i == 0 else 1))
                cin = ch
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, k)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


CASES = {
    "cnn-small-28x28x1": lambda: (CnnSmall(1, 28), (28, 28, 1), "cnn-small"),
    "cnn-small-32x32x3": lambda: (CnnSmall(3, 32), (32, 32, 3), "cnn-small"),
    "resnet20-32x32x3": lambda: (ResNet20(), (32, 32, 3), "resnet20"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="steps per repetition")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--cases", default=",".join(CASES))
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    results = []
    for key in a.cases.split(","):
        model, (h, w, c), name = CASES[key]()
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.rand(a.batch, c, h, w)
        y = torch.randint(0, 10, (a.batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        for _ in range(a.warmup):
            step()
        per_rep, cpu_per_rep = [], []
        for _ in range(a.reps):
            c = time.process_time()
            t = time.perf_counter()
            for _ in range(a.steps):
                step()
            per_rep.append((time.perf_counter() - t) / a.steps)
            cpu_per_rep.append((time.process_time() - c) / a.steps)
        ms = statistics.median(per_rep) * 1000
        cpu_ms = statistics.median(cpu_per_rep) * 1000
        results.append({"case": key, "model": name, "input": [h, w, c], "batch": a.batch, "msPerStep": ms,
                        "imagesPerSec": a.batch / (ms / 1000), "cpuMsPerStep": cpu_ms,
                        "imagesPerCpuSec": a.batch / (cpu_ms / 1000), "reps": a.reps, "stepsPerRep": a.steps})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
