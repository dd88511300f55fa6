"""How a chroma-class model turns its class logits into one color at inference: the annealed-mean
temperature, the vividness reweighting and a character's palette (colorize.chroma), shared by
every such generator."""

from __future__ import annotations

import torch

from colorize.chroma import NUM_CLASSES, annealed_mean, vividness_bias


def _per_class(values, what: str) -> torch.Tensor:
    t = torch.as_tensor(values, dtype=torch.float32).flatten()
    if t.numel() != NUM_CLASSES:
        raise ValueError(f"{what} has {t.numel()} classes, the model {NUM_CLASSES}")
    return t


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
        """A character's palette against the model's training colors (chroma.palette_bias; the
        card's palette_bias), applied with strength `palette`."""
        self.palette_bias = _per_class(bias, "palette bias")

    def _class_bias(self) -> torch.Tensor | None:
        terms = []
        if self.vividness:
            if self.color_prior is None:
                raise ValueError("vividness needs the training color prior (the card's chroma_prior)")
            terms.append(self.vividness * self._unit_bias)
        if self.palette:
            if self.palette_bias is None:
                raise ValueError("palette needs a character's palette bias (the card's palette_bias)")
            terms.append(self.palette * self.palette_bias)
        return sum(terms[1:], terms[0]) if terms else None

    def chroma_from(self, logits: torch.Tensor) -> torch.Tensor:
        """Chroma [N, 2, h, w] from class logits: the plain mean while training (what the losses
        see), the tuned readout (temperature, vividness, palette) in eval mode."""
        if self.training:
            return annealed_mean(logits)
        return annealed_mean(logits, self.temperature, self._class_bias())

    def encoder_parameters(self):
        for module in self.encoder_modules():
            yield from module.parameters()
