# kravbro: the same install as the README (pip install of this project), as a non-root user.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 kravbro
WORKDIR /opt/kravbro

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p app adapters && touch app/__init__.py adapters/__init__.py \
    && pip install . && pip uninstall -y kravbro

COPY alembic.ini ./
COPY migrations ./migrations
COPY contracts ./contracts
COPY app ./app
COPY adapters ./adapters
# Editable, so the code finds contracts/ and migrations/ beside it, as in a checkout.
RUN pip install --no-deps -e . && mkdir -p var && chown -R kravbro:kravbro var

USER kravbro
EXPOSE 8000
# Override KRAVBRO_DATABASE_URL with postgresql+psycopg://... in production.
ENV KRAVBRO_DATABASE_URL=sqlite:////opt/kravbro/var/kravbro.db
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["kravbro", "serve", "--host", "0.0.0.0", "--port", "8000"]
