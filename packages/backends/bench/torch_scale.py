"""The PyTorch peer of the scale benchmark: the same real-shape model folder, batch and work, in PyTorch on the CPU.

Run by bench/scale.mjs with Debian's python3-torch (`/usr/bin/python3`; with `libopenblas0-pthread` installed, or
it falls back to the reference BLAS, about 40x slower). Reads its settings as JSON from standard input, prints
progress to standard error and one JSON object of results on the last line of standard output.

The model is a plain Llama/Qwen2 decoder written here (RMSNorm, rotary embedding, grouped-query attention with
optional q/k/v bias, SwiGLU, tied or untied head), float32 like the SDK's engine, its weights read from the
folder's safetensors (one file or shards through `model.safetensors.index.json`; the header is parsed here, bf16
widened to float32 with numpy, since Debian has no `safetensors` package). Generation keeps a preallocated key/value
cache per layer and samples at temperature 1 from the whole vocabulary (log probabilities included, as the SDK
reports them). The train step is the SDK's objective: PPO-clip over the completion tokens (token mean), gradients
clipped to norm 1, one AdamW step; logits are computed only at the positions that predict completion tokens.

Peak resident memory of each phase: the process's VmHWM, reset at the start of the phase through
/proc/self/clear_refs (so each phase's peak is what is resident during it, the weights included).
"""

import json
import math
import os
import re
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

settings = json.load(sys.stdin)
torch.manual_seed(settings.get("seed", 0))
torch.set_num_threads(settings["threads"])


# On this shared machine, if memory runs out, this process is the one the kernel stops.
try:
    with open("/proc/self/oom_score_adj", "w") as adjust:
        adjust.write("1000")
except OSError:
    pass


def log(message):
    print(f"[torch] {message}", file=sys.stderr, flush=True)


def resident_peak_bytes():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\s+(\d+) kB", status.read()).group(1)) * 1024


def reset_resident_peak():
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


# ---------------------------------------------------------------------------------------------------------------
# Weights


def read_safetensors(path, wanted):
    """The tensors of one safetensors file that `wanted` names, as float32 torch tensors."""
    with open(path, "rb") as file:
        (header_length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(header_length))
    start = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__" or name not in wanted:
            continue
        shape = entry["shape"]
        count = math.prod(shape)
        begin = start + entry["data_offsets"][0]
        dtype = entry["dtype"]
        if dtype == "BF16":
            halves = np.fromfile(path, dtype="<u2", count=count, offset=begin)
            values = (halves.astype(np.uint32) << 16).view(np.float32)
            del halves
        elif dtype == "F16":
            values = np.fromfile(path, dtype="<f2", count=count, offset=begin).astype(np.float32)
        elif dtype == "F32":
            values = np.fromfile(path, dtype="<f4", count=count, offset=begin)
        else:
            raise ValueError(f"{path}: tensor {name} has the type {dtype}, not a float type this peer reads")
        tensors[name] = torch.from_numpy(values).reshape(shape)
    return tensors


def read_weights(directory, wanted):
    index_path = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path) as file:
            weight_map = json.load(file)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(os.path.join(directory, shard), wanted))
        return tensors
    return read_safetensors(os.path.join(directory, "model.safetensors"), wanted)


# ---------------------------------------------------------------------------------------------------------------
# Model


class Decoder:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as file:
            config = json.load(file)
        self.vocabulary = config["vocab_size"]
        self.hidden = config["hidden_size"]
        self.layer_count = config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads", self.heads)
        self.head_dim = config.get("head_dim", self.hidden // self.heads)
        self.groups = self.heads // self.kv_heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.theta = config.get("rope_theta", 10000.0)
        self.tied = config.get("tie_word_embeddings", False)
        self.bias = config.get("attention_bias", False) or config.get("model_type") == "qwen2"
        names = ["model.embed_tokens.weight", "model.norm.weight"] + ([] if self.tied else ["lm_head.weight"])
        for layer in range(self.layer_count):
            prefix = f"model.layers.{layer}."
            names += [
                prefix + suffix
                for suffix in (
                    "input_layernorm.weight",
                    "post_attention_layernorm.weight",
                    "self_attn.q_proj.weight",
                    "self_attn.k_proj.weight",
                    "self_attn.v_proj.weight",
                    "self_attn.o_proj.weight",
                    "mlp.gate_proj.weight",
                    "mlp.up_proj.weight",
                    "mlp.down_proj.weight",
                )
            ]
            if self.bias:
                names += [prefix + f"self_attn.{p}_proj.bias" for p in "qkv"]
        self.weights = read_weights(directory, set(names))
        missing = [name for name in names if name not in self.weights]
        if missing:
            raise ValueError(f"{directory}: no tensor {missing[0]}")
        self.embed = self.weights["model.embed_tokens.weight"]
        self.head = self.embed if self.tied else self.weights["lm_head.weight"]
        self.layers = []
        for layer in range(self.layer_count):
            prefix = f"model.layers.{layer}."
            w = lambda suffix: self.weights.get(prefix + suffix)  # noqa: E731
            self.layers.append(
                {
                    "norm1": w("input_layernorm.weight"),
                    "norm2": w("post_attention_layernorm.weight"),
                    "q": w("self_attn.q_proj.weight"),
                    "k": w("self_attn.k_proj.weight"),
                    "v": w("self_attn.v_proj.weight"),
                    "q_bias": w("self_attn.q_proj.bias"),
                    "k_bias": w("self_attn.k_proj.bias"),
                    "v_bias": w("self_attn.v_proj.bias"),
                    "o": w("self_attn.o_proj.weight"),
                    "gate": w("mlp.gate_proj.weight"),
                    "up": w("mlp.up_proj.weight"),
                    "down": w("mlp.down_proj.weight"),
                }
            )
        self.norm = self.weights["model.norm.weight"]
        self.inverse = self.theta ** (-torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim)

    def parameters(self):
        return list(self.weights.values())

    def parameter_count(self):
        return sum(tensor.numel() for tensor in self.weights.values())

    def rms(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rotary(self, start, length):
        positions = torch.arange(start, start + length, dtype=torch.float32)
        angles = torch.outer(positions, self.inverse)
        angles = torch.cat((angles, angles), dim=-1)
        return angles.cos()[None, :, None, :], angles.sin()[None, :, None, :]

    @staticmethod
    def rotate(x, cos, sin):
        first, second = x.chunk(2, dim=-1)
        return x * cos + torch.cat((-second, first), dim=-1) * sin

    def attention(self, q, k, v, mask):
        """q [B, L, heads, D]; k, v [B, kv, T, D]; mask [L, T] additive or None. Returns [B, L, heads * D]."""
        batch, length = q.shape[0], q.shape[1]
        total = k.shape[2]
        # Query heads h = kv * groups + g share key/value head kv (Hugging Face's repeat_kv): each key/value head
        # serves its group's queries in one matmul, with no copy of the cache.
        q = q.view(batch, length, self.kv_heads, self.groups, self.head_dim).permute(0, 2, 3, 1, 4)
        q = q.reshape(batch, self.kv_heads, self.groups * length, self.head_dim)
        scores = (q @ k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = (scores.view(batch, self.kv_heads, self.groups, length, total) + mask).view(
                batch, self.kv_heads, self.groups * length, total
            )
        attended = scores.softmax(-1) @ v
        attended = attended.view(batch, self.kv_heads, self.groups, length, self.head_dim).permute(0, 3, 1, 2, 4)
        return attended.reshape(batch, length, self.heads * self.head_dim)

    def forward(self, ids, cache=None, start=0):
        """Hidden states after the final norm, [B, L, H]. With `cache` (per layer (k, v) [B, kv, capacity, D]),
        the new keys and values are written at positions start..start+L-1 and attention reads 0..start+L-1."""
        batch, length = ids.shape
        cos, sin = self.rotary(start, length)
        total = start + length
        mask = None
        if length > 1:
            allowed = torch.arange(total)[None, :] <= torch.arange(start, total)[:, None]
            mask = torch.zeros(length, total).masked_fill(~allowed, float("-inf"))
        x = self.embed[ids]
        for index, layer in enumerate(self.layers):
            h = self.rms(x, layer["norm1"])
            q = F.linear(h, layer["q"], layer["q_bias"]).view(batch, length, self.heads, self.head_dim)
            k = F.linear(h, layer["k"], layer["k_bias"]).view(batch, length, self.kv_heads, self.head_dim)
            v = F.linear(h, layer["v"], layer["v_bias"]).view(batch, length, self.kv_heads, self.head_dim)
            q, k = self.rotate(q, cos, sin), self.rotate(k, cos, sin)
            k, v = k.transpose(1, 2), v.transpose(1, 2)
            if cache is not None:
                keys, values = cache[index]
                keys[:, :, start:total] = k
                values[:, :, start:total] = v
                k, v = keys[:, :, :total], values[:, :, :total]
            x = x + F.linear(self.attention(q, k, v, mask), layer["o"])
            h = self.rms(x, layer["norm2"])
            x = x + F.linear(F.silu(F.linear(h, layer["gate"])) * F.linear(h, layer["up"]), layer["down"])
        return self.rms(x, self.norm)

    def new_cache(self, batch, capacity):
        shape = (batch, self.kv_heads, capacity, self.head_dim)
        return [(torch.empty(shape), torch.empty(shape)) for _ in range(self.layer_count)]


# ---------------------------------------------------------------------------------------------------------------
# Phases


def median(values):
    return statistics.median(values) if values else None


results = {
    "version": torch.__version__,
    "blas": None,
    "threads": torch.get_num_threads(),
    "errors": {},
}
try:
    # Debian's build says BLAS_INFO=generic: it calls libblas.so.3, which the alternatives system points at OpenBLAS
    # when libopenblas0-pthread is installed and at the reference BLAS otherwise. The library mapped says which.
    torch.zeros(8, 8) @ torch.zeros(8, 8)
    with open("/proc/self/maps") as maps:
        libraries = sorted({os.path.basename(line.split()[-1]) for line in maps if "blas" in line.lower()})
    openblas = [name for name in libraries if "openblas" in name]
    mkl = [name for name in libraries if "mkl" in name]
    if openblas:
        results["blas"] = f"OpenBLAS ({openblas[0]})"
    elif mkl:
        results["blas"] = f"MKL ({mkl[0]})"
    else:
        results["blas"] = f"reference BLAS ({', '.join(libraries) or 'none mapped'}): install libopenblas0-pthread"
except Exception as error:  # noqa: BLE001 - informative only
    results["blas"] = f"unknown ({error})"

phases = settings["phases"]
model = None

reset_resident_peak()
try:
    log(f"load {settings['directory']}")
    started = time.perf_counter()
    model = Decoder(settings["directory"])
    results["loadMs"] = (time.perf_counter() - started) * 1000
    results["parameters"] = model.parameter_count()
except Exception as error:  # noqa: BLE001 - a failing row is recorded, not fatal
    results["errors"]["load"] = f"{type(error).__name__}: {error}"
results["loadPeakBytes"] = resident_peak_bytes()


def generate(prompts, max_tokens, seed):
    """Samples max_tokens tokens for each prompt (all the same length). Returns (prefill ms, decode ms)."""
    ids = torch.tensor(prompts, dtype=torch.long)
    batch, length = ids.shape
    generator = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        started = time.perf_counter()
        cache = model.new_cache(batch, length + max_tokens)
        hidden = model.forward(ids, cache, 0)
        logits = F.linear(hidden[:, -1], model.head)
        log_probs = logits.log_softmax(-1)
        token = torch.multinomial(log_probs.exp(), 1, generator=generator)
        chosen = [log_probs.gather(-1, token)]
        prefill = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        for step in range(1, max_tokens):
            hidden = model.forward(token, cache, length + step - 1)
            log_probs = F.linear(hidden[:, -1], model.head).log_softmax(-1)
            token = torch.multinomial(log_probs.exp(), 1, generator=generator)
            chosen.append(log_probs.gather(-1, token))
        decode = (time.perf_counter() - started) * 1000
    return prefill, decode


if model is not None and "generate" in phases:
    reset_resident_peak()
    try:
        prompts = settings["promptTokenIds"]
        repeats = settings["generateRepeats"]
        first = []
        for repeat in range(repeats):
            log(f"prefill only (maxTokens 1), run {repeat + 1}/{repeats}")
            prefill, _ = generate(prompts, 1, 100 + repeat)
            first.append(prefill)
        totals, prefills, decodes = [], [], []
        for repeat in range(repeats):
            log(f"generate {settings['maxTokens']} tokens, run {repeat + 1}/{repeats}")
            prefill, decode = generate(prompts, settings["maxTokens"], repeat)
            totals.append(prefill + decode)
            prefills.append(prefill)
            decodes.append(decode)
            log(f"  {prefill + decode:.0f} ms (prefill {prefill:.0f} ms, decode {decode:.0f} ms)")
        results["generate"] = {
            "firstTokenMs": median(first),
            "totalMs": median(totals),
            "prefillMs": median(prefills),
            "decodeMs": median(decodes),
            "decodeStepMs": median(decodes) / (settings["maxTokens"] - 1),
            "runs": {"firstToken": first, "total": totals, "prefill": prefills, "decode": decodes},
        }
    except Exception as error:  # noqa: BLE001
        results["errors"]["generate"] = f"{type(error).__name__}: {error}"
    results["generatePeakBytes"] = resident_peak_bytes()


if model is not None and "train" in phases:
    reset_resident_peak()
    try:
        train = settings["train"]
        prompt_ids = torch.tensor(train["promptTokenIds"], dtype=torch.long)
        completion_ids = torch.tensor(train["completionTokenIds"], dtype=torch.long)
        ids = torch.cat((prompt_ids, completion_ids), dim=1)
        batch, prompt_length = prompt_ids.shape
        total_length = ids.shape[1]
        old = torch.tensor(train["oldLogProbs"], dtype=torch.float32)
        advantages = torch.tensor(train["advantages"], dtype=torch.float32)
        micro = settings.get("microBatch") or batch
        parameters = model.parameters()
        for tensor in parameters:
            tensor.requires_grad_(True)
        optimizer = torch.optim.AdamW(parameters, lr=1e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        token_count = completion_ids.numel()

        def step():
            optimizer.zero_grad(set_to_none=True)
            for first in range(0, batch, micro):
                rows = slice(first, first + micro)
                hidden = model.forward(ids[rows])
                # Only the positions that predict completion tokens need logits.
                logits = F.linear(hidden[:, prompt_length - 1 : total_length - 1], model.head)
                new = logits.log_softmax(-1).gather(-1, completion_ids[rows, :, None]).squeeze(-1)
                ratio = (new - old[rows]).exp()
                surrogate = torch.minimum(ratio * advantages[rows], ratio.clamp(0.8, 1.2) * advantages[rows])
                loss = -surrogate.sum() / token_count
                loss.backward()
                del hidden, logits, new, ratio, surrogate, loss
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()

        steps = []
        for repeat in range(settings["trainRepeats"] + 1):
            log(f"train step {repeat + 1}/{settings['trainRepeats'] + 1} (micro-batches of {micro})")
            started = time.perf_counter()
            step()
            steps.append((time.perf_counter() - started) * 1000)
            log(f"  {steps[-1]:.0f} ms")
        results["train"] = {
            "firstMs": steps[0],
            "medianMs": median(steps[1:]) if len(steps) > 1 else steps[0],
            "microBatch": micro,
            "runs": steps,
        }
    except Exception as error:  # noqa: BLE001
        results["errors"]["train"] = f"{type(error).__name__}: {error}"
    results["trainPeakBytes"] = resident_peak_bytes()

times = os.times()
results["cpuSeconds"] = times.user + times.system
print(json.dumps(results))
