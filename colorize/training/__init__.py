"""Train: the GAN loop and what it needs (losses, the one GAN step, schedule, seeding, DDP,
TensorBoard monitor, validation), the `train` command, and the steps around a run: `sweep` (short
runs over a grid) and `temperature` (how vivid a trained chroma-unet's colors are)."""
