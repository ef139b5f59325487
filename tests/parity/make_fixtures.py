#!/usr/bin/python3
"""Writes extra PyTorch parity fixtures (configurations beyond ../shared/fixtures) into
tests/data/parity/, in the same schema (see tests/data/parity/README.md).

PyTorch is a reference for data only: this script is run by hand when fixtures are added,
never by the build or the tests.   /usr/bin/python3 tests/parity/make_fixtures.py
"""
import json
import os
import struct
import sys
import zlib

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "parity")
DTYPES = {torch.float32: ("F32", 4), torch.int64: ("I64", 8), torch.uint8: ("U8", 1)}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        dtype, size = DTYPES[t.dtype]
        data = t.numpy().tobytes()
        assert len(data) == t.numel() * size
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def case(name, module, config, make, inputs, index_inputs=(), kind="module"):
    """make(config) -> torch module or function; inputs: dict name -> float32 tensor."""
    torch.manual_seed(zlib.crc32(name.encode()))
    obj = make(config)
    tensors = {}
    params = dict(obj.named_parameters()) if isinstance(obj, torch.nn.Module) else {}
    for n, p in params.items():
        with torch.no_grad():
            p.copy_(torch.randn_like(p) * 0.5)
        tensors["param." + n] = p.detach().clone()
    for n, v in inputs.items():
        tensors["in." + n] = v
    for n, v in index_inputs:
        tensors["in." + n] = v
    # Expected values in float64 from the float32 data, rounded to float32.
    obj64 = obj.double() if isinstance(obj, torch.nn.Module) else obj
    ins64 = {n: v.double().requires_grad_(True) for n, v in inputs.items()}
    outs = run(module, obj64, config, ins64, dict(index_inputs))
    loss = 0
    for n, o in outs.items():
        seed = torch.randn(o.shape, dtype=torch.float32)
        tensors["out." + n] = o.detach().float()
        tensors["seed." + n] = seed
        loss = loss + (o * seed.double()).sum()
    loss.backward()
    for n, v in ins64.items():
        tensors["grad." + n] = v.grad.float()
    if isinstance(obj, torch.nn.Module):
        for n, p in obj64.named_parameters():
            tensors["grad." + n] = p.grad.float()
    meta = {"format": "unroll-parity-1", "kind": kind, "module": module, "config": json.dumps(config),
            "inputs": ",".join(list(inputs) + [n for n, _ in index_inputs]), "outputs": ",".join(outs),
            "torch_version": torch.__version__}
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
    print("wrote", name)


def optim_case(name, module, config, shapes, steps=3):
    """An optimizer case (kind optimizer): param.pI, then for k = 1..steps grad.step{k}.pI and
    out.step{k}.pI, the parameter after that step. Stepped in float64 from the float32 data."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    rn = lambda s: torch.randn(*s, generator=g, dtype=torch.float32)
    tensors = {}
    params = []
    for i, s in enumerate(shapes):
        p = rn(s)
        tensors["param.p%d" % i] = p
        params.append(p.double().requires_grad_(True))
    kwargs = dict(config)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = getattr(torch.optim, module)(params, **kwargs)
    for k in range(1, steps + 1):
        for i, p in enumerate(params):
            grad = rn(p.shape)
            tensors["grad.step%d.p%d" % (k, i)] = grad
            p.grad = grad.double()
        opt.step()
        for i, p in enumerate(params):
            tensors["out.step%d.p%d" % (k, i)] = p.detach().float()
    meta = {"format": "unroll-parity-1", "kind": "optimizer", "module": module, "config": json.dumps(config),
            "steps": str(steps), "params": str(len(shapes)), "torch_version": torch.__version__}
    write_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, meta)
    print("wrote", name)


def run(module, obj, cfg, ins, idx):
    F = torch.nn.functional
    if module in ("RNN", "LSTM", "GRU"):
        args = [ins["input"]]
        if "h0" in ins:
            args.append((ins["h0"], ins["c0"]) if module == "LSTM" else ins["h0"])
        out, state = obj(*args)
        if module == "LSTM":
            return {"output": out, "h_n": state[0], "c_n": state[1]}
        return {"output": out, "h_n": state}
    if module in ("RNNCell", "GRUCell"):
        return {"h": obj(ins["input"], ins["hx"])}
    if module == "LSTMCell":
        h, c = obj(ins["input"], (ins["hx"], ins["cx"]))
        return {"h": h, "c": c}
    if module == "Linear":
        return {"output": obj(ins["input"])}
    if module == "Embedding":
        return {"output": obj(idx["input"])}
    if module == "softmax":
        return {"output": F.softmax(ins["input"], dim=cfg["dim"])}
    if module == "log_softmax":
        return {"output": F.log_softmax(ins["input"], dim=cfg["dim"])}
    if module == "cross_entropy":
        return {"loss": F.cross_entropy(ins["input"], idx["target"], **cfg)}
    if module == "mse_loss":
        return {"loss": F.mse_loss(ins["input"], ins["target"], **cfg)}
    if module == "LayerNorm":
        return {"output": obj(ins["input"])}
    if module == "MultiheadAttention":
        mask = lambda n: idx[n].bool() if n in idx else None
        out, w = obj(ins["query"], ins["key"], ins["value"], key_padding_mask=mask("key_padding_mask"),
                     need_weights=True, attn_mask=mask("attn_mask"), average_attn_weights=True)
        return {"output": out, "attn_weights": w}
    if module == "TransformerEncoderLayer":
        mask = lambda n: idx[n].bool() if n in idx else None
        return {"output": obj(ins["src"], src_mask=mask("src_mask"), src_key_padding_mask=mask("src_key_padding_mask"))}
    raise ValueError(module)


def r(*shape):
    return torch.randn(*shape, dtype=torch.float32)


def causal_mask(t):
    """U8 [t, t]: 1 above the diagonal (a query may not attend to later keys)."""
    return torch.triu(torch.ones(t, t, dtype=torch.uint8), diagonal=1)


def random_mask(*shape, keep_axis=-1):
    """U8 mask with about a third of the entries set, never a whole row along keep_axis (PyTorch
    gives NaN for a query with no key to attend to, which these fixtures do not test)."""
    g = torch.Generator().manual_seed(123 + sum(shape))
    m = (torch.rand(*shape, generator=g) < 0.35).to(torch.uint8)
    first = [slice(None)] * len(shape)
    first[keep_axis] = 0
    m[tuple(first)] = 0
    return m


def main():
    os.makedirs(OUT, exist_ok=True)
    # Inputs are drawn before case() seeds; without this the first case's inputs would differ
    # on every run.
    torch.manual_seed(0)
    nn = torch.nn
    layer = lambda cls: (lambda c: cls(**c))
    case("extra_linear_nobias_rank3", "Linear", {"in_features": 4, "out_features": 6, "bias": False},
         layer(nn.Linear), {"input": r(2, 3, 4)})
    case("extra_embedding_padding", "Embedding", {"num_embeddings": 7, "embedding_dim": 3, "padding_idx": 2},
         layer(nn.Embedding), {}, [("input", torch.tensor([[1, 2, 2, 6], [0, 2, 5, 1]]))])
    case("extra_rnncell_relu_nobias", "RNNCell", {"input_size": 3, "hidden_size": 5, "nonlinearity": "relu", "bias": False},
         layer(nn.RNNCell), {"input": r(4, 3), "hx": r(4, 5)})
    case("extra_lstmcell_nobias", "LSTMCell", {"input_size": 3, "hidden_size": 4, "bias": False},
         layer(nn.LSTMCell), {"input": r(2, 3), "hx": r(2, 4), "cx": r(2, 4)})
    case("extra_grucell_h7", "GRUCell", {"input_size": 2, "hidden_size": 7},
         layer(nn.GRUCell), {"input": r(3, 2), "hx": r(3, 7)})
    case("extra_rnn_tanh_bidir_h0", "RNN", {"input_size": 3, "hidden_size": 4, "bidirectional": True},
         layer(nn.RNN), {"input": r(5, 2, 3), "h0": r(2, 2, 4)})
    case("extra_lstm_3layer_nobias", "LSTM", {"input_size": 2, "hidden_size": 3, "num_layers": 3, "bias": False},
         layer(nn.LSTM), {"input": r(4, 3, 2)})
    case("extra_lstm_bidir_bf_h0c0", "LSTM", {"input_size": 3, "hidden_size": 4, "bidirectional": True, "batch_first": True},
         layer(nn.LSTM), {"input": r(2, 5, 3), "h0": r(2, 2, 4), "c0": r(2, 2, 4)})
    case("extra_gru_2layer_bf", "GRU", {"input_size": 4, "hidden_size": 3, "num_layers": 2, "batch_first": True},
         layer(nn.GRU), {"input": r(3, 4, 4)})
    case("extra_gru_bidir_relu_free_h0", "GRU", {"input_size": 3, "hidden_size": 2, "bidirectional": True, "num_layers": 2},
         layer(nn.GRU), {"input": r(6, 1, 3), "h0": r(4, 1, 2)})
    case("extra_softmax_dim0", "softmax", {"dim": 0}, lambda c: None, {"input": r(5, 3, 2) * 3})
    case("extra_log_softmax_dim1", "log_softmax", {"dim": 1}, lambda c: None, {"input": r(2, 6, 3) * 3})
    case("extra_cross_entropy_sum", "cross_entropy", {"reduction": "sum"}, lambda c: None,
         {"input": r(5, 4)}, [("target", torch.tensor([3, 0, 1, 1, 2]))])
    case("extra_cross_entropy_none_ignore", "cross_entropy", {"reduction": "none", "ignore_index": 1}, lambda c: None,
         {"input": r(5, 4)}, [("target", torch.tensor([3, 1, 0, 1, 2]))])
    case("extra_mse_loss_sum", "mse_loss", {"reduction": "sum"}, lambda c: None, {"input": r(3, 4), "target": r(3, 4)})

    # Attention: MHA cases use need_weights=True, average_attn_weights=True; encoder cases
    # dropout=0. query/key/value are separate inputs (self-attention: equal values).
    case("extra_layernorm_2d_noaffine", "LayerNorm", {"normalized_shape": [3, 4], "elementwise_affine": False},
         layer(nn.LayerNorm), {"input": r(2, 5, 3, 4)})
    case("extra_layernorm_2d_eps", "LayerNorm", {"normalized_shape": [2, 5], "eps": 1e-3},
         layer(nn.LayerNorm), {"input": r(3, 2, 5) * 3 + 1})
    q = r(4, 2, 6)
    case("extra_mha_nobias_cross_attnmask_h3", "MultiheadAttention", {"embed_dim": 6, "num_heads": 3, "bias": False},
         layer(nn.MultiheadAttention), {"query": r(3, 2, 6), "key": q.clone(), "value": r(4, 2, 6)},
         [("attn_mask", random_mask(3, 4))])
    x = r(2, 5, 8)
    case("extra_mha_bf_both_masks_h4", "MultiheadAttention", {"embed_dim": 8, "num_heads": 4, "batch_first": True},
         layer(nn.MultiheadAttention), {"query": x.clone(), "key": x.clone(), "value": x.clone()},
         [("attn_mask", causal_mask(5)), ("key_padding_mask", torch.tensor([[0, 0, 1, 0, 1], [0, 1, 0, 0, 0]], dtype=torch.uint8))])
    x = r(4, 3, 4)
    case("extra_mha_3d_mask_h1", "MultiheadAttention", {"embed_dim": 4, "num_heads": 1},
         layer(nn.MultiheadAttention), {"query": x.clone(), "key": x.clone(), "value": x.clone()},
         [("attn_mask", random_mask(3, 4, 4))])
    x = r(2, 6, 8)
    case("extra_mha_3d_mask_bf_h2", "MultiheadAttention", {"embed_dim": 8, "num_heads": 2, "batch_first": True},
         layer(nn.MultiheadAttention), {"query": x.clone(), "key": x.clone(), "value": x.clone()},
         [("attn_mask", random_mask(4, 6, 6)), ("key_padding_mask", torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1]], dtype=torch.uint8))])
    case("extra_encoder_post_gelu_padding", "TransformerEncoderLayer",
         {"d_model": 8, "nhead": 2, "dim_feedforward": 16, "dropout": 0.0, "activation": "gelu"},
         layer(nn.TransformerEncoderLayer), {"src": r(5, 3, 8)},
         [("src_key_padding_mask", torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [0, 1, 0, 0, 1]], dtype=torch.uint8))])
    case("extra_encoder_pre_relu_causal_bf", "TransformerEncoderLayer",
         {"d_model": 8, "nhead": 4, "dim_feedforward": 12, "dropout": 0.0, "activation": "relu",
          "batch_first": True, "norm_first": True, "layer_norm_eps": 1e-3},
         layer(nn.TransformerEncoderLayer), {"src": r(2, 6, 8)}, [("src_mask", causal_mask(6))])
    case("extra_encoder_post_relu_both_masks_h4", "TransformerEncoderLayer",
         {"d_model": 12, "nhead": 4, "dim_feedforward": 20, "dropout": 0.0, "activation": "relu"},
         layer(nn.TransformerEncoderLayer), {"src": r(4, 2, 12)},
         [("src_mask", causal_mask(4)), ("src_key_padding_mask", torch.tensor([[0, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.uint8))])
    # Optimizers: hyper-parameter combinations beyond ../shared/fixtures (kind optimizer).
    two = [(3, 4), (4,)]
    optim_case("extra_sgd_plain", "SGD", {"lr": 0.1}, two)
    optim_case("extra_sgd_momentum_dampening", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, two, steps=4)
    optim_case("extra_sgd_momentum_wd_maximize", "SGD", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}, two)
    optim_case("extra_adam_amsgrad_wd", "Adam", {"lr": 0.01, "betas": [0.9, 0.6], "weight_decay": 0.05, "amsgrad": True}, two, steps=4)
    optim_case("extra_adam_betas_eps", "Adam", {"lr": 0.003, "betas": [0.5, 0.9], "eps": 1e-3}, two)
    optim_case("extra_adam_maximize", "Adam", {"lr": 0.01, "maximize": True}, [(2, 3)])
    optim_case("extra_adamw_amsgrad", "AdamW", {"lr": 0.02, "betas": [0.8, 0.95], "weight_decay": 0.2, "amsgrad": True}, two, steps=4)
    optim_case("extra_rmsprop_centered_momentum_wd", "RMSprop",
               {"lr": 0.01, "alpha": 0.9, "momentum": 0.8, "centered": True, "weight_decay": 0.05}, two, steps=4)
    optim_case("extra_rmsprop_momentum", "RMSprop", {"lr": 0.005, "momentum": 0.9}, two)
    optim_case("extra_rmsprop_centered", "RMSprop", {"lr": 0.01, "centered": True, "eps": 1e-6}, [(5,)])
    optim_case("extra_adagrad_decay_init_wd", "Adagrad",
               {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.5, "weight_decay": 0.1}, two, steps=4)
    optim_case("extra_adagrad_eps_maximize", "Adagrad", {"lr": 0.05, "eps": 1e-4, "maximize": True}, [(2, 2)])


if __name__ == "__main__":
    sys.exit(main())
