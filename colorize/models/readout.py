"""How a chroma-class model turns its class logits into one color at inference: the annealed-mean
temperature, the vividness reweighting and a character's palette (colorize.chroma), shared by
every such generator.

A character's palette is either one bias per class (the colors it wears, whatever the
brightness) or a brightness palette: one bias per class for each of B bins of the input's
brightness under the logits (colorize.character.palette_fit), so a dark stretch can lean to the
character's black hair and a mid-gray one to its red coat."""

from __future__ import annotations

import torch

from colorize.chroma import NUM_CLASSES, annealed_mean, vividness_bias


def _per_class(values, what: str) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() != NUM_CLASSES:
        raise ValueError(f"{what} has {t.numel()} classes, the model {NUM_CLASSES}")
    return t


def brightness_bins(gray: torch.Tensor, bins: int) -> torch.Tensor:
    """The bin (0 .. bins - 1, long) of each pixel's brightness; `gray` in [-1, 1]."""
    return ((gray.float() + 1) * (bins / 2)).long().clamp_(0, bins - 1)


def brightness_bias(table: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
    """[N, Q, h, w] logit bias: the row of `table` [B, Q] for each pixel's brightness bin (`gray`
    [N, 1, h, w] in [-1, 1], at the logits' resolution)."""
    return table.to(gray.device)[brightness_bins(gray[:, 0], len(table))].permute(0, 3, 1, 2)


class ChromaReadout:
    """Mixin: `temperature`, `vividness` and the training color prior (the card's chroma_prior),
    `palette` and a character's palette bias (the card's palette_bias)."""

    temperature: float = 1.0
    vividness: float = 0.0  # used in eval mode, with the training color prior
    color_prior: torch.Tensor | None = None
    palette: float = 0.0  # used in eval mode, with the palette bias
    palette_bias: torch.Tensor | None = None

    def set_color_prior(self, prior) -> None:
        """The training set's color frequencies over the classes (the card's chroma_prior)."""
        self.color_prior = _per_class(prior, "color prior")
        self._unit_bias = vividness_bias(self.color_prior, 1.0)  # once, not per forward pass

    def set_palette(self, bias) -> None:
        """A character's palette (the card's palette_bias), applied with strength `palette`: a
        brightness palette, B rows of one logit bias per class (colorize.character.palette_fit), or
        one bias per colored class (the cards of an earlier release, kept loading as they were)."""
        t = torch.as_tensor(bias, dtype=torch.float32)
        if t.dim() == 2:
            if t.shape[1] != NUM_CLASSES or not len(t):
                raise ValueError(f"brightness palette is {list(t.shape)}, the model has {NUM_CLASSES} classes")
            self.palette_bias = t
        else:
            self.palette_bias = _per_class(t, "palette bias")

    def _class_bias(self) -> torch.Tensor | None:
        terms = []
        if self.vividness:
            if self.color_prior is None:
                raise ValueError("vividness needs the training color prior (the card's chroma_prior)")
            terms.append(self.vividness * self._unit_bias)
        if self.palette and self.palette_bias.dim() == 1:
            terms.append(self.palette * self.palette_bias)
        return sum(terms[1:], terms[0]) if terms else None

    def chroma_from(self, logits: torch.Tensor, gray: torch.Tensor) -> torch.Tensor:
        """Chroma [N, 2, h, w] from class logits: the plain mean while training (what the losses
        see), the tuned readout (temperature, vividness, palette) in eval mode. `gray`: the input's
        brightness at the logits' resolution ([N, 1, h, w], -1..1), for a brightness palette."""
        if self.training:
            return annealed_mean(logits)
        if self.palette and self.palette_bias is None:
            raise ValueError("palette needs a character's palette bias (the card's palette_bias)")
        if self.palette and self.palette_bias.dim() == 2:
            logits = logits.float() + self.palette * brightness_bias(self.palette_bias, gray)
        return annealed_mean(logits, self.temperature, self._class_bias())

    def encoder_parameters(self):
        for module in self.encoder_modules():
            yield from module.parameters()
