# The lifeseeker app image (web UI under gunicorn, and the `lifeseeker` CLI for one-shot ingest).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/lifeseeker
COPY pyproject.toml setup.cfg README.md* ./
COPY lifeseeker ./lifeseeker
RUN pip install .
RUN useradd --create-home lifeseeker && mkdir -p /cache && chown lifeseeker /cache
USER lifeseeker
EXPOSE 5000
ENV OMP_NUM_THREADS=1
# gthread workers with a read deadline per request, preload, JSON errors: lifeseeker/webui/gunicorn_conf.py
CMD ["gunicorn", "-c", "python:lifeseeker.webui.gunicorn_conf", "-b", "0.0.0.0:5000", "lifeseeker.webui:create_app()"]
