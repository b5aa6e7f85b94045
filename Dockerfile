FROM python:3.11-slim
WORKDIR /opt/modelyard
COPY pyproject.toml README.md ./
COPY registry ./registry
COPY storage ./storage
COPY auth ./auth
RUN pip install --no-cache-dir .
COPY config.example.yml /etc/modelyard/config.yml
RUN mkdir -p /var/lib/modelyard \
    && sed -i 's#rootdirectory: ./data#rootdirectory: /var/lib/modelyard#' /etc/modelyard/config.yml
VOLUME /var/lib/modelyard
EXPOSE 5000
ENTRYPOINT ["modelyard"]
CMD ["serve", "--config", "/etc/modelyard/config.yml"]
