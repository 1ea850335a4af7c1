#!/usr/bin/python3
"""PyTorch reference for bench/serve: an hftc flat-cnn model file (its weights, vocabulary and labels)
loaded into the PyTorch Kim CNN of torch_cnn.py and served the way hftc serves it:

  --file F    predict every line of F in batches of 256; prints {"docs", "seconds"} as JSON
  --stdin     answer each line of stdin with one line (the labels above the threshold), flushing each,
              as `hftc predict` does in a pipe
  --port N    an HTTP server with hftc serve's POST /predict ({"texts": [...]} -> {"predictions": [...]})
              on 127.0.0.1 (0: a free port); prints "listening on 127.0.0.1 port P" on stderr. Batched
              as hftc serve batches: a thread per connection parses its requests and queues them; one
              batcher thread predicts whatever is queued when it is free, in one call

The tokeniser is a regular expression close to hftc's (lower-case words, punctuation dropped), so both
sides do the same work per document; the predictions need not be identical.

Run with Debian's python3 (python3-torch); torch.set_num_threads(--threads)."""
import argparse
import http.server
import json
import queue
import re
import struct
import sys
import threading
import time

import numpy as np
import torch
from torch_cnn import KimCNN

BATCH = 256
WORD = re.compile(r"\w+")


def load_hftc(path):
    """The model's tensors (numpy), metadata (JSON-decoded where it is JSON) of an hftc model file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = {k: v for k, v in header.pop("__metadata__").items()}
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(t["shape"])
    return tensors, meta


class Server:
    def __init__(self, path):
        tensors, meta = load_hftc(path)
        cfg = json.loads(meta["config"])
        if cfg["encoder"] != "cnn" or cfg["strategy"] != "flat" or cfg.get("pool_chunks", 1) != 1:
            sys.exit("torch_serve.py: needs a flat Kim-CNN model (flat-cnn)")
        self.words = {w: i for i, w in enumerate(json.loads(meta["vocab"]))}
        self.labels = json.loads(meta["labels"])
        self.max_len, self.threshold = cfg["max_len"], cfg["threshold"]
        self.windows = cfg["windows"]
        E, F = cfg["embed_dim"], cfg["filters"]
        m = KimCNN(cfg["vocab_size"], E, self.windows, F, cfg["hidden"], cfg["classes"])
        state = {"embedding.weight": tensors["embedding.weight"]}
        for i, k in enumerate(self.windows):
            state[f"convs.{i}.weight"] = tensors[f"conv.{k}.weight"].reshape(F, k, E).transpose(0, 2, 1)
            state[f"convs.{i}.bias"] = tensors[f"conv.{k}.bias"]
        for name in ("fc1", "out"):
            state[f"{name}.weight"] = tensors[f"{name}.weight"]
            state[f"{name}.bias"] = tensors[f"{name}.bias"]
        m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})  # writable copies
        self.model = m.eval()

    def ids(self, text):
        return [self.words.get(w, 1) for w in WORD.findall(text.lower())[: self.max_len]]

    def predict(self, texts):
        """Per text: (labels above the threshold, their probabilities), best first."""
        out = []
        for start in range(0, len(texts), BATCH):
            docs = [self.ids(t) for t in texts[start:start + BATCH]]
            T = max([max(self.windows)] + [len(d) for d in docs])
            tokens = torch.zeros(len(docs), T, dtype=torch.long)
            for i, d in enumerate(docs):
                tokens[i, : len(d)] = torch.tensor(d, dtype=torch.long)
            with torch.inference_mode():
                probs = torch.sigmoid(self.model(tokens)).numpy()
            for row in probs:
                chosen = np.flatnonzero(row >= self.threshold)
                chosen = chosen[np.argsort(-row[chosen], kind="stable")]
                out.append(([self.labels[c] for c in chosen], [float(row[c]) for c in chosen]))
        return out


def batcher(server, waiting):
    """Predicts the queued requests ([texts, event, answers]) together, as many as are queued when it is free."""
    while True:
        batch = [waiting.get()]
        while True:
            try:
                batch.append(waiting.get_nowait())
            except queue.Empty:
                break
        answers = server.predict([t for texts, _, _ in batch for t in texts])
        at = 0
        for request in batch:
            request[2] = answers[at:at + len(request[0])]
            at += len(request[0])
            request[1].set()


def serve_http(server, port):
    waiting = queue.Queue()
    threading.Thread(target=batcher, args=(server, waiting), daemon=True).start()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as libmicrohttpd
        disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = 200
            try:
                req = json.loads(body)
                texts = req["texts"] if "texts" in req else [req["text"]]
                request = [texts, threading.Event(), None]
                waiting.put(request)
                request[1].wait()
                answer = {"predictions": [{"doc": i + 1, "labels": labels, "scores": scores}
                                          for i, (labels, scores) in enumerate(request[2])]}
            except (ValueError, KeyError, TypeError) as e:
                status, answer = 400, {"error": str(e)}
            data = (json.dumps(answer) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"listening on 127.0.0.1 port {httpd.server_address[1]}", file=sys.stderr, flush=True)
    httpd.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--file")
    mode.add_argument("--stdin", action="store_true")
    mode.add_argument("--port", type=int)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    server = Server(a.model)
    if a.file:
        with open(a.file, encoding="utf-8") as f:
            texts = [line.rstrip("\n").split("\t")[-1] for line in f]
        t0 = time.perf_counter()
        server.predict(texts)
        print(json.dumps({"docs": len(texts), "seconds": time.perf_counter() - t0}))
    elif a.stdin:
        for line in sys.stdin:
            labels, _ = server.predict([line.rstrip("\n")])[0]
            sys.stdout.write(",".join(labels) + "\n")
            sys.stdout.flush()
    else:
        serve_http(server, a.port)


if __name__ == "__main__":
    main()
