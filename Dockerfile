# RANDOM People: the Gradio app on CPU, ready to serve on port 7860 (also usable as a
# Hugging Face Docker Space).
#
#   docker build -t random-people .
#   docker run --rm -p 7860:7860 -v "$PWD/data:/home/user/data" random-people
FROM python:3.11-slim

# OpenCV (pulled in by MediaPipe) links libGL and GLib. PyAV's wheels bundle FFmpeg.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

# Hugging Face Spaces run containers as uid 1000: build the caches as that user so the app
# finds them at run time.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
WORKDIR /home/user/app

# Exactly the locked versions (requirements.lock, made by scripts/lock.sh). Torch is locked
# to its CPU build, which lives on PyTorch's CPU index, not PyPI.
COPY --chown=user requirements.lock ./
RUN pip install --user -r requirements.lock --extra-index-url https://download.pytorch.org/whl/cpu

COPY --chown=user pyproject.toml README.md ./
COPY --chown=user random_people ./random_people
RUN pip install --user --no-deps .

# Build Anny's cache (1-5 min, ~0.9 GB) and compile the CPU rasterizer's Numba kernels now,
# not on the first visitor's click.
RUN random-people setup

COPY --chown=user app.py ./
COPY --chown=user assets ./assets

ENV RP_SERVER_NAME=0.0.0.0 \
    RP_SERVER_PORT=7860 \
    RP_DATA_DIR=/home/user/data \
    GRADIO_ANALYTICS_ENABLED=False
EXPOSE 7860
CMD ["python", "app.py"]
