# The Airflow image of okta-quicksight-sync: the official Airflow image plus requirements.txt and the
# Okta provider distribution. Built by docker-compose.yaml (`docker compose build`); usable on its own too
# (Helm chart, ECS: docs/deploy/helm.md), since dags/, include/ and plugins/ are baked in at the paths
# compose mounts them.
#
# The Airflow version here is the one the project is tested with: the apache-airflow pin in
# constraints.txt (tests/packaging/test_dockerfile.py checks it).
FROM apache/airflow:3.3.2-python3.11

# The project tree keeps its layout inside the image: the DAG file finds include/ beside dags/.
ENV PROJECT_DIR=/opt/okta-quicksight-sync
ENV AIRFLOW__CORE__DAGS_FOLDER=${PROJECT_DIR}/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=${PROJECT_DIR}/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

# .dockerignore keeps the local test servers, the scenario harness and the demo org out of include/.
COPY --chown=airflow:0 requirements.txt ${PROJECT_DIR}/requirements.txt
COPY --chown=airflow:0 requirements-events.txt ${PROJECT_DIR}/requirements-events.txt
COPY --chown=airflow:0 include/ ${PROJECT_DIR}/include/
COPY --chown=airflow:0 plugins/ ${PROJECT_DIR}/plugins/
COPY --chown=airflow:0 dags/ ${PROJECT_DIR}/dags/

# The official image installs Python packages as the `airflow` user (its pip refuses to run as
# root), and pinning apache-airflow to the image's own version keeps pip from swapping Airflow.
# ./plugins is the Okta provider distribution: its entry point gives Airflow the `okta` connection form.
# --build-arg OKTA_QS_EVENTS=true adds the event entry's packages (requirements-events.txt, docs/events.md)
# for targets with `event_queue`; the triggerer then runs from this image too.
ARG OKTA_QS_EVENTS=false
USER airflow
WORKDIR ${PROJECT_DIR}
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r requirements.txt ./plugins \
        $(if [ "${OKTA_QS_EVENTS}" = "true" ]; then echo "-r requirements-events.txt"; fi) \
    && python -c "import okta_provider.get_provider_info" \
    && test ! -e include/local_servers && test ! -e include/scenario_harness
# The object-storage XCom path of docker-compose.yaml: created here so its named volume is
# owned by the airflow user and writable by group 0 (compose runs as AIRFLOW_UID:0).
RUN mkdir -p /opt/airflow/xcom && chmod 0775 /opt/airflow/xcom
WORKDIR /opt/airflow
