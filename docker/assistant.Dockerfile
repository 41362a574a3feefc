FROM python:3.11-slim
WORKDIR /srv
RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng festival festvox-ru && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY bot bot
COPY nlu nlu
COPY voice voice
COPY knowledge_base knowledge_base
COPY handoff handoff
COPY contract contract
COPY benchmarks/data benchmarks/data
RUN pip install --no-cache-dir .
ENV DATA_DIR=/srv/data
CMD ["python", "-m", "bot", "serve"]
