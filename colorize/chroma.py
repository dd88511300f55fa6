"""Chroma as the generator predicts it: YCbCr (BT.601, Pillow's and JPEG's) on the [-1, 1] scale,
and a grid of quantized (Cb, Cr) classes for the classification objective (Zhang et al. 2016,
"Colorful Image Colorization"): regression to the mean of all plausible colors gives sepia, a
distribution over color classes keeps vivid ones, and its annealed mean picks how vivid."""

from __future__ import annotations

import torch
from torch.nn import functional as F

# BT.601 full range, as Pillow's "YCbCr" and "L" modes (one luma definition in the project).
LUMA = (0.299, 0.587, 0.114)
CBCR_ROWS = ((-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))  # Cb, Cr = rows @ RGB (+ 128)
_TO_YCC = torch.tensor([LUMA, *CBCR_ROWS])
_TO_RGB = torch.linalg.inv(_TO_YCC)

# The class grid: Cb and Cr from -96 to +96 (0-255 units around 128) in steps of 12, 17 x 17
# classes. Anime colors stay within it; beyond it values are clamped to the border class.
GRID_STEP, GRID_HALF = 12.0, 8
GRID_N = 2 * GRID_HALF + 1
NUM_CLASSES = GRID_N * GRID_N
GRAY_CLASS = GRID_HALF * GRID_N + GRID_HALF  # (Cb, Cr) = (0, 0): no color
_UNIT = 127.5  # 0-255 units per 1.0 on the [-1, 1] scale


def rgb_to_ycc(rgb: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [-1, 1] -> Y, Cb, Cr on the same scale (Y in [-1, 1], chroma ~[-1, 1])."""
    return torch.einsum("ij,njhw->nihw", _TO_YCC.to(rgb), rgb)


def ycc_to_rgb(ycc: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", _TO_RGB.to(ycc), ycc)


def class_centers(device=None, dtype=torch.float32) -> torch.Tensor:
    """[NUM_CLASSES, 2] (Cb, Cr) of each class on the [-1, 1] scale; class k = i * GRID_N + j for
    Cb index i and Cr index j."""
    axis = (torch.arange(GRID_N, dtype=dtype) - GRID_HALF) * (GRID_STEP / _UNIT)
    cb, cr = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([cb.reshape(-1), cr.reshape(-1)], dim=1).to(device)


def soft_classes(cbcr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear soft assignment of chroma [N, 2, H, W] to the 4 surrounding grid classes:
    (indices [N, 4, H, W] long, weights [N, 4, H, W] summing to 1). Smooth targets, as Zhang et
    al.'s soft encoding, without a nearest-neighbour search."""
    g = (cbcr.float() * (_UNIT / GRID_STEP) + GRID_HALF).clamp(0, GRID_N - 1 - 1e-4)
    i0 = g.floor()
    f = g - i0
    i0 = i0.long()
    cb0, cr0 = i0[:, 0], i0[:, 1]
    fb, fr = f[:, 0], f[:, 1]
    idx = torch.stack([cb0 * GRID_N + cr0, (cb0 + 1) * GRID_N + cr0, cb0 * GRID_N + cr0 + 1,
                       (cb0 + 1) * GRID_N + cr0 + 1], dim=1)
    w = torch.stack([(1 - fb) * (1 - fr), fb * (1 - fr), (1 - fb) * fr, fb * fr], dim=1)
    return idx, w


def class_prior(cbcr_batches, smooth: float = 1.0) -> torch.Tensor:
    """Empirical distribution of the chroma classes over some target chroma batches, smoothed by a
    Gaussian of `smooth` classes, as Zhang et al. estimate it."""
    counts = torch.zeros(NUM_CLASSES, dtype=torch.float64)
    for cbcr in cbcr_batches:
        idx, w = soft_classes(cbcr)
        counts.index_add_(0, idx.reshape(-1), w.reshape(-1).double())
    grid = counts.reshape(1, 1, GRID_N, GRID_N).float()
    if smooth > 0:
        r = max(1, round(3 * smooth))
        k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / smooth) ** 2)
        k = k / k.sum()
        grid = F.conv2d(grid, k.view(1, 1, 1, -1), padding=(0, r))
        grid = F.conv2d(grid, k.view(1, 1, -1, 1), padding=(r, 0))
    p = grid.reshape(-1)
    return p / p.sum().clamp_min(1e-12)


VIVID_MIX = 0.5  # the smoothing of vividness_bias's weights, Zhang et al.'s rebalancing mix


def rebalance_weights(prior: torch.Tensor, mix: float = 0.5) -> torch.Tensor:
    """Per-class loss weights proportional to 1 / ((1 - mix) * prior + mix / Q), normalized so the
    expected weight under the prior is 1: rare (saturated) colors count more, so the classifier
    does not settle on the common desaturated ones."""
    w = 1.0 / ((1 - mix) * prior + mix / prior.numel())
    return w / (prior * w).sum()


def annealed_mean(logits: torch.Tensor, temperature: float = 1.0,
                  class_bias: torch.Tensor | None = None) -> torch.Tensor:
    """Chroma [N, 2, H, W] from class logits [N, Q, H, W]: the mean of the distribution sharpened
    by 1 / temperature (1: the plain mean, ->0: the mode). Zhang et al. use 0.38. `class_bias`
    [Q] reweights the colored classes among themselves first (see reweight_colors)."""
    logits = logits.float()
    if class_bias is not None:
        logits = reweight_colors(logits, class_bias)
    p = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", p, class_centers(logits.device))


def reweight_colors(logits: torch.Tensor, class_bias: torch.Tensor) -> torch.Tensor:
    """Log-probabilities in which the colored classes' probabilities are multiplied by
    exp(class_bias) and rescaled to their old total, while the gray class keeps its own: where
    the model is sure a pixel has no color (paper, a speech bubble) it stays uncolored, and where
    it is sure of color, the color leans as the bias says."""
    logp = torch.log_softmax(logits, dim=1)
    gray = torch.zeros(logits.shape[1], dtype=torch.bool, device=logits.device)
    gray[GRAY_CLASS] = True
    gray = gray.view(1, -1, 1, 1)
    colored = torch.where(gray, float("-inf"), logp + class_bias.to(logp).view(1, -1, 1, 1))
    p_gray = logp[:, GRAY_CLASS : GRAY_CLASS + 1].exp()
    colored = colored - torch.logsumexp(colored, dim=1, keepdim=True) + torch.log1p(-p_gray.clamp(max=1 - 1e-6))
    return torch.where(gray, logp, colored)


def vividness_bias(prior: torch.Tensor, vividness: float) -> torch.Tensor:
    """Per-class bias that multiplies the colored classes' predicted probabilities by w ** vividness
    (reweight_colors), w the rebalancing weights (inverse smoothed color frequency in training):
    colors the training set rarely shows count more. A classifier unsure between a common muted
    color and a rare vivid one leans muted; the temperature cannot fix that (it sharpens towards
    the muted mode), this can. 0 leaves the distribution as trained."""
    return vividness * torch.log(rebalance_weights(prior.float(), VIVID_MIX))


def classification_loss(logits: torch.Tensor, cbcr: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Rebalanced KL divergence from the soft-encoded target chroma [N, 2, h, w] to the predicted
    class distribution (logits [N, Q, h, w]), each pixel weighted by its nearest class's weight.
    The cross-entropy minus the target's own entropy: the same gradients, but 0 for a perfect
    prediction, so "the loss fell 90%" means what it says."""
    idx, w = soft_classes(cbcr)
    logp = torch.log_softmax(logits.float(), dim=1)
    ce = (w * (torch.log(w.clamp_min(1e-12)) - torch.gather(logp, 1, idx))).sum(dim=1)
    if weights is not None:
        nearest = torch.gather(idx, 1, w.argmax(dim=1, keepdim=True))[:, 0]
        ce = ce * weights.to(ce)[nearest]
    return ce.mean()
