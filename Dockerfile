# The Airflow image of okta-quicksight-sync: the official Airflow image plus the project's pinned
# requirements. Built by docker-compose.yaml (`docker compose build`); usable on its own too
# (Kubernetes, ECS), since dags/, include/ and plugins/ are baked in at the paths compose mounts them.
#
# The Airflow version here must equal the apache-airflow pin in requirements.txt
# (tests/deploy/test_dockerfile.py checks it).
FROM apache/airflow:3.3.2-python3.11

# The project tree keeps its layout inside the image, so relative paths between dags/, include/
# and plugins/ hold, and the editable installs below point at the directories compose mounts over.
ENV PROJECT_DIR=/opt/okta-quicksight-sync
ENV AIRFLOW__CORE__DAGS_FOLDER=${PROJECT_DIR}/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=${PROJECT_DIR}/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# Owned by the airflow user: pip writes the editable installs' metadata next to the sources.
COPY --chown=airflow:0 requirements.txt ${PROJECT_DIR}/requirements.txt
COPY --chown=airflow:0 include/ ${PROJECT_DIR}/include/
COPY --chown=airflow:0 plugins/ ${PROJECT_DIR}/plugins/
COPY --chown=airflow:0 dags/ ${PROJECT_DIR}/dags/

# The official image installs Python packages as the `airflow` user (its pip refuses to run as
# root), and pinning apache-airflow to the image's own version keeps pip from swapping Airflow.
# pip resolves the relative `-e ./include` and `-e ./plugins` lines from the working directory.
USER airflow
WORKDIR ${PROJECT_DIR}
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt \
    && python -c "import okta_quicksight_sync, local_servers, okta_provider"
# The object-storage XCom path of docker-compose.yaml: created here so its named volume is
# owned by the airflow user and writable by group 0 (compose runs as AIRFLOW_UID:0).
RUN mkdir -p /opt/airflow/xcom && chmod 0775 /opt/airflow/xcom
WORKDIR /opt/airflow
