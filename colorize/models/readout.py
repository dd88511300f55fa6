"""How a chroma-class model turns its class logits into one color at inference: the annealed-mean
temperature and the vividness reweighting (colorize.chroma), shared by every such generator."""

from __future__ import annotations

import torch

from colorize.chroma import NUM_CLASSES, annealed_mean, vividness_bias


class ChromaReadout:
    """Mixin: `temperature`, `vividness` and the training color prior (the card's chroma_prior)."""

    temperature: float = 1.0
    vividness: float = 0.0  # used in eval mode, with the training color prior
    color_prior: torch.Tensor | None = None

    def set_color_prior(self, prior) -> None:
        """The training set's color frequencies over the classes (the card's chroma_prior)."""
        self.color_prior = torch.as_tensor(prior, dtype=torch.float32).flatten()
        if self.color_prior.numel() != NUM_CLASSES:
            raise ValueError(f"color prior has {self.color_prior.numel()} classes, the model {NUM_CLASSES}")
        self._unit_bias = vividness_bias(self.color_prior, 1.0)  # once, not per forward pass

    def _class_bias(self) -> torch.Tensor | None:
        if not self.vividness:
            return None
        if self.color_prior is None:
            raise ValueError("vividness needs the training color prior (the card's chroma_prior)")
        return self.vividness * self._unit_bias

    def chroma_from(self, logits: torch.Tensor) -> torch.Tensor:
        """Chroma [N, 2, h, w] from class logits: the plain mean while training (what the losses
        see), the tuned readout (temperature, vividness) in eval mode."""
        if self.training:
            return annealed_mean(logits)
        return annealed_mean(logits, self.temperature, self._class_bias())

    def encoder_parameters(self):
        for module in self.encoder_modules():
            yield from module.parameters()
