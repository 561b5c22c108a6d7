"""The PyTorch peer of the backends benchmark: the same Llama-family model, batch and work, in PyTorch on the CPU.

Run by bench/engines.mjs with Debian's python3-torch (`/usr/bin/python3`). Reads the settings as JSON from argv[1]
and prints one JSON object of median timings (milliseconds). Weights are random (seeded): speed does not depend
on their values.
"""

import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

settings = json.loads(sys.argv[1])
torch.manual_seed(0)
torch.set_num_threads(settings["threads"])

V = settings["vocabularySize"]
H = settings["hiddenSize"]
I = settings["intermediateSize"]
L = settings["layerCount"]
NH = settings["headCount"]
KV = settings["keyValueHeadCount"]
D = H // NH
B = settings["batch"]
T = settings["contextLength"]
P = settings["promptLength"]
THETA = settings["ropeTheta"]
EPS = settings["rmsNormEpsilon"]


def parameter(*shape):
    return torch.nn.Parameter(torch.randn(*shape) * 0.02)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = parameter(V, H)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            layer = torch.nn.Module()
            layer.norm1 = torch.nn.Parameter(torch.ones(H))
            layer.q = parameter(H, NH * D)
            layer.k = parameter(H, KV * D)
            layer.v = parameter(H, KV * D)
            layer.o = parameter(NH * D, H)
            layer.norm2 = torch.nn.Parameter(torch.ones(H))
            layer.gate = parameter(H, I)
            layer.up = parameter(H, I)
            layer.down = parameter(I, H)
            self.layers.append(layer)
        self.norm = torch.nn.Parameter(torch.ones(H))
        inverse = THETA ** (-torch.arange(0, D, 2, dtype=torch.float32) / D)
        self.register_buffer("inverse", inverse)

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * weight

    def rotate(self, x, cos, sin):
        first, second = x.chunk(2, dim=-1)
        return x * cos + torch.cat((-second, first), dim=-1) * sin

    def forward(self, ids, cache=None):
        batch, length = ids.shape
        past = 0 if cache is None else cache[0][0].shape[2]
        positions = torch.arange(past, past + length, dtype=torch.float32)
        angles = torch.outer(positions, self.inverse)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        total = past + length
        mask = torch.arange(total)[None, :] <= torch.arange(past, total)[:, None]
        bias = torch.zeros(length, total).masked_fill(~mask, float("-inf"))
        x = self.embed[ids]
        new_cache = []
        for index, layer in enumerate(self.layers):
            h = self.rms(x, layer.norm1)
            q = (h @ layer.q).view(batch, length, NH, D).transpose(1, 2)
            k = (h @ layer.k).view(batch, length, KV, D).transpose(1, 2)
            v = (h @ layer.v).view(batch, length, KV, D).transpose(1, 2)
            q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
            if cache is not None:
                k = torch.cat((cache[index][0], k), dim=2)
                v = torch.cat((cache[index][1], v), dim=2)
            new_cache.append((k, v))
            if KV != NH:
                k = k.repeat_interleave(NH // KV, dim=1)
                v = v.repeat_interleave(NH // KV, dim=1)
            scores = q @ k.transpose(2, 3) / math.sqrt(D) + bias
            attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, NH * D)
            x = x + attended @ layer.o
            h = self.rms(x, layer.norm2)
            x = x + (F.silu(h @ layer.gate) * (h @ layer.up)) @ layer.down
        return self.rms(x, self.norm) @ self.embed.t(), new_cache


model = Model()


def median_ms(run, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


ids = torch.randint(0, V - 1, (B, T))


def forward():
    with torch.no_grad():
        model(ids)


def sample():
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        logits, cache = model(ids[:, :P])
        for _ in range(T - P):
            probabilities = (logits[:, -1, : V - 1]).softmax(-1)
            token = torch.multinomial(probabilities, 1, generator=generator)
            logits, cache = model(token, cache)


optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
old = torch.full((B, T - P), -4.0)
advantages = torch.randn(B, 1).expand(B, T - P)


def train():
    logits, _ = model(ids)
    log_probs = logits[:, P - 1 : T - 1].log_softmax(-1).gather(-1, ids[:, P:, None]).squeeze(-1)
    ratio = (log_probs - old).exp()
    loss = -torch.minimum(ratio * advantages, ratio.clamp(0.8, 1.2) * advantages).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()


forward()
train()
print(
    json.dumps(
        {
            "version": torch.__version__,
            "forwardMs": median_ms(forward, settings["repeats"]),
            "sampleMs": median_ms(sample, max(1, settings["repeats"] // 2)),
            "trainMs": median_ms(train, max(1, settings["repeats"] // 2)),
        }
    )
)
