"""The PyTorch BiGRU + attention network that hftc's bigru-att network is checked against
(make_golden_gru.py) and timed against (bench/torch_gru.py): one definition, so the benchmark times
the model the golden test proves equal to hftc's.

nn.Embedding(V, E, padding_idx=0) -> [dropout] -> nn.GRU(E, H, bidirectional=True, batch_first=True)
-> [dropout on the GRU outputs S] -> over the valid positions t < L only:
    u_t = tanh(W s_t + b),  a = softmax_t(u_t . c),  Att = sum_t a_t s_t,
    Max = max_t s_t,  Mean = sum_t s_t / L
-> [Att | Max | Mean] (6H) -> [fc1 -> ReLU] -> [dropout] -> out (logits). The attention is written
from those equations (W, b: nn.Linear(2H, A); c: a parameter of size A), not taken from hftc.
Parameter names are hftc's tensor names (embedding.weight, gru.weight_ih_l0,
gru.weight_hh_l0_reverse, attention.weight, attention.context, fc1.weight, out.bias, ...).

With pack (the default) the GRU runs on pack_padded_sequence input and pad_packed_sequence gives
zeros past each length; without it, on the padded tensor (the same result when every document has
the full length, without the packing overhead)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Attention(nn.Module):
    """Word attention (Yang et al. 2016) + max + mean pooling over the first lengths[b] positions."""

    def __init__(self, D, A):
        super().__init__()
        lin = nn.Linear(D, A)
        self.weight, self.bias = lin.weight, lin.bias
        self.context = nn.Parameter(torch.empty(A).uniform_(-1 / A**0.5, 1 / A**0.5))

    def forward(self, s, lengths):
        valid = torch.arange(s.shape[1])[None, :] < lengths[:, None]  # (B, T)
        u = torch.tanh(F.linear(s, self.weight, self.bias))  # (B, T, A)
        a = torch.softmax((u @ self.context).masked_fill(~valid, float("-inf")), 1)
        att = (a[:, :, None] * s).sum(1)
        mx = s.masked_fill(~valid[:, :, None], float("-inf")).max(1).values
        mean = (s * valid[:, :, None]).sum(1) / lengths[:, None]
        return torch.cat([att, mx, mean], 1)


class BiGRUAtt(nn.Module):
    def __init__(self, vocab, dim, H, A, hidden, classes, rnn_dropout=0.0, embed_dropout=0.0, hidden_dropout=0.0,
                 pack=True):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.gru = nn.GRU(dim, H, bidirectional=True, batch_first=True)
        self.attention = Attention(2 * H, A)
        self.fc1 = nn.Linear(6 * H, hidden) if hidden else None
        self.out = nn.Linear(hidden or 6 * H, classes)
        self.rnn_dropout, self.embed_dropout, self.hidden_dropout = rnn_dropout, embed_dropout, hidden_dropout
        self.pack = pack

    def forward(self, tokens, lengths):
        x = F.dropout(self.embedding(tokens), self.embed_dropout, self.training)
        if self.pack:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            s, _ = pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=tokens.shape[1])
        else:
            s = self.gru(x)[0]
        s = F.dropout(s, self.rnn_dropout, self.training)
        h = self.attention(s, lengths)
        if self.fc1 is not None:
            h = F.relu(self.fc1(h))
        return self.out(F.dropout(h, self.hidden_dropout, self.training))
