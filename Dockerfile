# One image for central, edge and the embedded broker; the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol ./protocol
COPY edge ./edge
COPY central ./central
COPY terminals ./terminals
COPY runtime ./runtime
COPY ioe ./ioe
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/ioe --create-home ioe
USER ioe
WORKDIR /var/lib/ioe
EXPOSE 8000 8701
ENTRYPOINT ["ioe"]
CMD ["--help"]
