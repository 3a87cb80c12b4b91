"""Rendering: cameras, Gaussian rasterizer backends (gsplat on CUDA, ours on CPU), compositing, labels."""
