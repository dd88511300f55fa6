"""Infer: the Colorizer (colorizer.py), the only way an image becomes a colored image, with how a
page is colored (regions, paper, paint, guided, colorspace), and the `batch` command. The web app
(app/) is a shell around the same Colorizer."""
